//! The verdict: a pure function of observations (SPEC §3).
//!
//! [`decide`] walks the decision order of SPEC §3 exactly — down, unverifiable, env_mismatch,
//! mixed, then the comparison of live and expected SHAs — while filling in the checklist,
//! warnings and a hint that names the likely cause from the evidence. It never looks at the
//! clock or the network: `Observations::now` is the only time it knows.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::Sha;
use crate::observe::{
    AssetKind, AssetProbe, BuildInfoProbe, CiRun, Confidence, Expected, ExpectedBasis,
    FrontendProbe, HttpEvidence, HttpOutcome, ImageCheck, ImageOutcome, Observations, Response,
    TransportFailure,
};
use crate::report::{Check, CiSummary, Report, SeenSha, Verdict};

/// Decides the verdict of one check and explains it.
pub fn decide(obs: &Observations) -> Report {
    let mut d = Draft::default();
    let (verdict, hint) = cascade(obs, &mut d);
    add_warnings(obs, &mut d, verdict);
    Report {
        project: obs.project.clone(),
        environment: obs.environment.clone(),
        verdict,
        expected_sha: match &obs.expected {
            Expected::Known { sha, .. } => Some(sha.clone()),
            Expected::Unknown { .. } => None,
        },
        live_sha: d.live.clone(),
        ci: d.ci.clone(),
        checks: d.checks,
        warnings: d.warnings,
        hint,
        checked_at: obs.now,
        seen: d.seen,
    }
}

/// The report being assembled while the cascade runs.
#[derive(Default)]
struct Draft {
    checks: Vec<Check>,
    warnings: Vec<String>,
    seen: Vec<SeenSha>,
    live: Option<Sha>,
    ci: Option<CiSummary>,
}

impl Draft {
    fn check(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_string(),
            ok,
            detail: detail.into(),
        });
    }
    fn warn(&mut self, w: impl Into<String>) {
        let w = w.into();
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }
}

fn cascade(obs: &Observations, d: &mut Draft) -> (Verdict, String) {
    let env = obs.environment.as_str();

    // Evidence for every probe first, so the checklist is complete whatever the verdict.
    let many = obs.build_info.len() > 1;
    for (i, probe) in obs.build_info.iter().enumerate() {
        // A probe sent to one address of the host (`each_address`) is named by it.
        let name = match (&probe.address, many) {
            (Some(addr), _) => format!("build_info[{addr}]"),
            (None, true) => format!("build_info[{}]", i + 1),
            (None, false) => "build_info".into(),
        };
        let ok = is_success(&probe.http) && probe.fingerprint.is_ok();
        let detail = match &probe.fingerprint {
            Ok(fp) if is_success(&probe.http) => {
                let how = match fp.confidence {
                    Confidence::Guess => ", a guess",
                    Confidence::KnownCommit => ", a known commit of the repository",
                    Confidence::Configured | Confidence::Convention => "",
                };
                format!(
                    "{}: {} ({}{how})",
                    describe_http(&probe.http),
                    fp.sha.short(),
                    fp.source
                )
            }
            Err(why) if answered(&probe.http).is_some_and(|r| r.status < 500) => {
                format!("{}: {why}", describe_received(&probe.http))
            }
            _ => describe_http(&probe.http),
        };
        d.check(&name, ok, detail);
    }
    if let Some(h) = &obs.health {
        health_check(env, h, d);
    }
    if let Some(f) = &obs.frontend {
        d.check("frontend", is_success(&f.http), describe_http(&f.http));
    }
    if let Some(bust) = &obs.cache_bust {
        cache_bust_check(obs, bust, d);
    }
    if let Some(img) = &obs.image {
        image_check(img, d);
    }

    // 1. down
    let mut failing: Vec<&HttpEvidence> = obs.build_info.iter().map(|p| &p.http).collect();
    // A health body that says the service is down explains itself (below), whatever its HTTP
    // status; any other health answer counts by its status.
    failing.extend(
        obs.health
            .iter()
            .filter(|h| h.status != Some(crate::observe::HealthStatus::Down))
            .map(|h| &h.http),
    );
    failing.extend(obs.frontend.iter().map(|f| &f.http));
    failing.retain(|h| is_down(h));
    if let Some(first) = failing.first() {
        return (Verdict::Down, down_hint(env, first, failing.len(), obs));
    }
    if let Some(hint) = obs.health.as_ref().and_then(|h| health_down_hint(env, h)) {
        return (Verdict::Down, hint);
    }
    // The build-info answered, but a request that bypasses caches did not: what answered is a
    // cache keeping an old copy while the origin behind it fails (nginx
    // `proxy_cache_use_stale`, a CDN's stale-if-error).
    if let Some(bust) = &obs.cache_bust
        && is_down(&bust.http)
    {
        return (Verdict::Down, hidden_outage_hint(env, obs, bust));
    }

    // 2. unverifiable: no usable live fingerprint …
    if let Some(bad) = obs.build_info.iter().find(|p| p.fingerprint.is_err()) {
        return (Verdict::Unverifiable, unusable_hint(env, bad));
    }
    group_live_shas(obs, d);

    // … or the expected SHA cannot be known.
    let (expected, basis) = match &obs.expected {
        Expected::Known { sha, basis } => (sha, basis),
        Expected::Unknown { reason } => {
            d.check("expected_sha", false, reason.clone());
            return (
                Verdict::Unverifiable,
                format!("cannot tell what {env} should run: {reason}"),
            );
        }
    };
    d.check(
        "expected_sha",
        true,
        describe_expected(obs, expected, basis),
    );

    // 3. env_mismatch
    if let Some(want) = &obs.policy.expect_environment {
        let reported = obs
            .build_info
            .iter()
            .filter_map(|p| p.fingerprint.as_ref().ok()?.environment.clone())
            .find(|e| !e.trim().eq_ignore_ascii_case(want.trim()));
        match reported {
            Some(got) => {
                d.check(
                    "environment",
                    false,
                    format!("build-info says {got:?}, expected {want:?}"),
                );
                return (
                    Verdict::EnvMismatch,
                    format!(
                        "{env} reports environment {got:?} instead of {want:?}: the server's \
                         environment file was overwritten (e.g. a {got} .env copied onto \
                         {want}); restore it and restart the app"
                    ),
                );
            }
            None => {
                let has_field = obs.build_info.iter().any(|p| {
                    p.fingerprint
                        .as_ref()
                        .is_ok_and(|f| f.environment.is_some())
                });
                if has_field {
                    d.check("environment", true, format!("build-info says {want:?}"));
                } else {
                    d.warn(format!(
                        "expect_environment is {want:?} but build-info has no environment field to compare"
                    ));
                }
            }
        }
    }

    let ci = CiState::of(&obs.ci_runs);
    d.ci = ci.summary();

    // 4. mixed
    if d.seen.len() > 1 {
        let listing = describe_seen(&d.seen, expected, basis);
        d.check(
            "replicas",
            false,
            format!(
                "{} probes saw {} versions: {listing}",
                obs.build_info.len(),
                d.seen.len()
            ),
        );
        let since = ready_since(basis, &ci);
        let grace_over = match basis {
            ExpectedBasis::Cli { deadline_passed } => *deadline_passed,
            _ => since.is_none_or(|t| age(obs.now, t) >= obs.policy.grace),
        };
        if grace_over {
            return (
                Verdict::Mixed,
                format!(
                    "{env} serves more than one version: {listing}. A rolling update stuck half \
                     way, an old replica still in the load-balancer pool, or sticky sessions \
                     pinning clients to an old replica"
                ),
            );
        }
        return (
            Verdict::Deploying,
            format!("{env} is rolling out {}: {listing}", expected.short()),
        );
    }
    if obs.build_info.len() > 1 {
        d.check(
            "replicas",
            true,
            format!("all {} probes saw the same version", obs.build_info.len()),
        );
    }
    let Some(live) = d.live.clone() else {
        // Unreachable in practice: every probe had a fingerprint, so one SHA was grouped.
        return (
            Verdict::Unverifiable,
            format!("{env}: no live SHA was read"),
        );
    };

    // 5. the live SHA matches the expected SHA
    if live.matches(expected) {
        d.check(
            "sha_match",
            true,
            format!("live {} is the expected SHA", live.short()),
        );
        if let Some(f) = &obs.frontend
            && let Some(hint) = stale_frontend(env, f, expected, d)
        {
            return (Verdict::StaleFrontend, hint);
        }
        let what = match basis {
            ExpectedBasis::Branch { .. } => format!("the head of {}", obs.policy.branch),
            ExpectedBasis::Deployment { .. } => "the newest successful deployment".to_string(),
            ExpectedBasis::Cli { .. } => "the expected SHA".to_string(),
        };
        return (
            Verdict::Live,
            format!("{env} serves {} ({what})", live.short()),
        );
    }
    d.check(
        "sha_match",
        false,
        format!(
            "live {} is not the expected {}",
            live.short(),
            expected.short()
        ),
    );

    // 6. the live SHA differs from the expected SHA
    let cause = phantom_cause(obs, &live, expected, basis, &ci);
    let image_missing = || match &obs.image {
        Some(img) if img.outcome == ImageOutcome::Missing => Some((
            Verdict::ImageMissing,
            format!(
                "{} is not in the registry{}: the image was never pushed, or the push failed \
                 silently (e.g. expired registry credentials), so {env} still runs {}",
                img.reference,
                match basis {
                    // Only the branch basis reads CI; a deployment or `--expect` did not.
                    ExpectedBasis::Branch { .. } =>
                        format!(" although CI passed for {}", expected.short()),
                    ExpectedBasis::Deployment { .. } => format!(
                        " although GitHub reports the deployment of {} successful",
                        expected.short()
                    ),
                    ExpectedBasis::Cli { .. } => String::new(),
                },
                live.short()
            ),
        )),
        _ => None,
    };
    match basis {
        ExpectedBasis::Branch { first_seen, .. } => {
            let pushed_ago = age(obs.now, *first_seen);
            if let (CiState::Success { .. }, Some(found)) = (&ci, image_missing()) {
                return found;
            }
            match &ci {
                CiState::Failed(run) => (
                    Verdict::CiFailed,
                    format!(
                        "CI {} for {} ({}): nothing new was built, so the registry tag still \
                         points at the last good build and {env} still runs {}. See {}",
                        run.conclusion.as_deref().unwrap_or("failed"),
                        expected.short(),
                        run.workflow,
                        live.short(),
                        run.url
                    ),
                ),
                CiState::None if pushed_ago >= obs.policy.ci_timeout => (
                    Verdict::CiMissing,
                    format!(
                        "no CI run for {} {} after it was pushed: a `paths` filter may have \
                         skipped the build, the workflow names in the config may not match, \
                         or CI is broken",
                        expected.short(),
                        human(pushed_ago)
                    ),
                ),
                CiState::None => (
                    Verdict::Deploying,
                    format!(
                        "{} was pushed {} ago; waiting for CI to start",
                        expected.short(),
                        human(pushed_ago)
                    ),
                ),
                CiState::Pending(run) => (
                    Verdict::Deploying,
                    format!(
                        "CI is {} for {} ({})",
                        run.status.replace('_', " "),
                        expected.short(),
                        run.workflow
                    ),
                ),
                CiState::Success { at, .. } => {
                    let since = age(obs.now, *at);
                    if since < obs.policy.grace {
                        (
                            Verdict::Deploying,
                            format!(
                                "CI passed for {} {} ago; within the {} grace period",
                                expected.short(),
                                human(since),
                                human(obs.policy.grace)
                            ),
                        )
                    } else {
                        (
                            Verdict::Phantom,
                            format!(
                                "{env} still serves {} {} after CI passed for {}: {cause}",
                                describe_live(&live, basis),
                                human(since),
                                expected.short()
                            ),
                        )
                    }
                }
            }
        }
        ExpectedBasis::Deployment { success_at } => {
            if let Some(found) = image_missing() {
                return found;
            }
            let since = age(obs.now, *success_at);
            if since < obs.policy.grace {
                (
                    Verdict::Deploying,
                    format!(
                        "the deployment of {} succeeded {} ago; within the {} grace period",
                        expected.short(),
                        human(since),
                        human(obs.policy.grace)
                    ),
                )
            } else {
                (
                    Verdict::Phantom,
                    format!(
                        "GitHub reports the deployment of {} successful {} ago, but {env} still \
                         serves {}: {cause}",
                        expected.short(),
                        human(since),
                        live.short()
                    ),
                )
            }
        }
        ExpectedBasis::Cli { deadline_passed } => {
            if let Some(found) = image_missing() {
                return found;
            }
            if *deadline_passed {
                (
                    Verdict::Phantom,
                    format!(
                        "{env} still serves {} instead of {}: {cause}",
                        live.short(),
                        expected.short()
                    ),
                )
            } else {
                (
                    Verdict::Deploying,
                    format!(
                        "waiting for {env} to serve {} (serves {})",
                        expected.short(),
                        live.short()
                    ),
                )
            }
        }
    }
}

/// The CI picture for one SHA: the newest run of each workflow decides. A failed workflow
/// outweighs a pending one, which outweighs success.
#[derive(Debug)]
pub enum CiState<'a> {
    None,
    Failed(&'a CiRun),
    Pending(&'a CiRun),
    Success { run: &'a CiRun, at: DateTime<Utc> },
}

impl<'a> CiState<'a> {
    pub fn of(runs: &'a [CiRun]) -> CiState<'a> {
        let mut newest: Vec<&CiRun> = Vec::new();
        for run in runs {
            match newest.iter_mut().find(|r| r.workflow == run.workflow) {
                Some(slot) if (run.created_at, run.id) > (slot.created_at, slot.id) => *slot = run,
                Some(_) => {}
                None => newest.push(run),
            }
        }
        if let Some(run) = newest.iter().find(|r| r.is_failed()) {
            return CiState::Failed(run);
        }
        if let Some(run) = newest.iter().find(|r| !r.is_completed()) {
            return CiState::Pending(run);
        }
        newest
            .iter()
            .filter(|r| r.is_success())
            .map(|r| (*r, r.completed_at.unwrap_or(r.created_at)))
            .max_by_key(|(_, at)| *at)
            .map_or(CiState::None, |(run, at)| CiState::Success { run, at })
    }

    pub fn summary(&self) -> Option<CiSummary> {
        let run = match self {
            CiState::None => return None,
            CiState::Failed(r) | CiState::Pending(r) | CiState::Success { run: r, .. } => r,
        };
        Some(CiSummary {
            status: run.status.clone(),
            conclusion: run.conclusion.clone(),
            url: run.url.clone(),
            completed_at: run.completed_at,
        })
    }
}

/// When the expected SHA became deployable: the grace period runs from here.
fn ready_since(basis: &ExpectedBasis, ci: &CiState) -> Option<DateTime<Utc>> {
    match (basis, ci) {
        (_, CiState::Success { at, .. }) => Some(*at),
        (ExpectedBasis::Deployment { success_at }, _) => Some(*success_at),
        (ExpectedBasis::Branch { first_seen, .. }, _) => Some(*first_seen),
        (ExpectedBasis::Cli { .. }, _) => None,
    }
}

/// Groups the replica fingerprints by matching SHA, most-seen first.
fn group_live_shas(obs: &Observations, d: &mut Draft) {
    for (fp, address) in obs
        .build_info
        .iter()
        .filter_map(|p| Some((p.fingerprint.as_ref().ok()?, p.address.as_ref())))
    {
        let i = match d.seen.iter().position(|s| s.sha.matches(&fp.sha)) {
            Some(i) => {
                let slot = &mut d.seen[i];
                slot.probes += 1;
                if fp.sha.as_str().len() > slot.sha.as_str().len() {
                    slot.sha = fp.sha.clone();
                }
                i
            }
            None => {
                d.seen.push(SeenSha {
                    sha: fp.sha.clone(),
                    probes: 1,
                    addresses: Vec::new(),
                });
                d.seen.len() - 1
            }
        };
        if let Some(a) = address
            && !d.seen[i].addresses.contains(a)
        {
            d.seen[i].addresses.push(a.clone());
        }
    }
    d.seen.sort_by_key(|s| std::cmp::Reverse(s.probes));
    if d.seen.len() == 1 {
        d.live = Some(d.seen[0].sha.clone());
    }
}

/// Why the old SHA is still live, from the evidence (for phantom hints).
fn phantom_cause(
    obs: &Observations,
    live: &Sha,
    expected: &Sha,
    basis: &ExpectedBasis,
    ci: &CiState,
) -> String {
    if let Some(bust) = &obs.cache_bust
        && let Ok(fp) = &bust.fingerprint
        && fp.sha.matches(expected)
    {
        return format!(
            "a cache layer serves the old answer — a cache-busting request got {} — \
                     purge or bypass the cache in front of {}",
            fp.sha.short(),
            obs.environment
        );
    }
    let built_at = obs
        .build_info
        .iter()
        .find_map(|p| p.fingerprint.as_ref().ok()?.build_date);
    if let (Some(built), CiState::Success { run, .. }) = (built_at, ci)
        && built < run.created_at
    {
        return format!(
            "the live build is from {}, before CI built {} — the image tag still points to \
                 an old build; check that the deploy pulls the new tag or digest",
            built.format("%Y-%m-%d %H:%M UTC"),
            expected.short()
        );
    }
    match basis {
        ExpectedBasis::Branch {
            previous: Some(prev),
            ..
        } if prev.matches(live) => {
            "the old container is still serving. Recreate it (`docker compose up -d \
             --force-recreate`), check that the tag points to the new digest, and check for \
             bind mounts that overlay the image"
                .to_string()
        }
        _ => "the deploy did not replace the running build. Check that the deploy job ran and \
              targeted this environment, that the container was recreated from the new image, \
              and that no cache or old replica answers"
            .to_string(),
    }
}

fn describe_live(live: &Sha, basis: &ExpectedBasis) -> String {
    match basis {
        ExpectedBasis::Branch {
            previous: Some(prev),
            ..
        } if prev.matches(live) => {
            format!("{} (the previous push)", live.short())
        }
        _ => live.short().to_string(),
    }
}

/// The frontend rules of SPEC §3 step 5: a page fingerprint that differs, or an asset that
/// does not answer 200.
fn stale_frontend(env: &str, f: &FrontendProbe, expected: &Sha, d: &mut Draft) -> Option<String> {
    let mut hint = None;
    match &f.fingerprint {
        Some(fp) if !fp.sha.matches(expected) => {
            d.check(
                "frontend_sha",
                false,
                format!("page carries {} ({})", fp.sha.short(), fp.source),
            );
            hint = Some(format!(
                "the backend of {env} serves {} but the page at {} carries {} ({}): the \
                 frontend files were not refreshed (a volume holding the old build) or a CDN or \
                 browser cache serves the old HTML",
                expected.short(),
                f.http.url,
                fp.sha.short(),
                fp.source
            ));
        }
        Some(fp) => d.check(
            "frontend_sha",
            true,
            format!("page carries {} ({})", fp.sha.short(), fp.source),
        ),
        None => {}
    }
    if let Some(r) = answered(&f.http)
        && !(200..300).contains(&r.status)
    {
        hint.get_or_insert(format!("the page at {} answered {}", f.http.url, r.status));
    }
    if !f.assets.is_empty() {
        let broken: Vec<String> = f.assets.iter().filter_map(asset_problem).collect();
        if broken.is_empty() {
            d.check(
                "assets",
                true,
                format!(
                    "all {} referenced assets answer 200 with a fitting content type",
                    f.assets.len()
                ),
            );
        } else {
            d.check(
                "assets",
                false,
                format!(
                    "{} of {} assets fail: {}",
                    broken.len(),
                    f.assets.len(),
                    broken.join(", ")
                ),
            );
            // One entry per problem too, so a checklist shows each asset with its evidence.
            const LISTED: usize = 10;
            for problem in broken.iter().take(LISTED) {
                d.check("asset", false, problem.clone());
            }
            hint.get_or_insert(format!(
                "the page of {env} references assets that do not load ({}): the HTML and the \
                 deployed assets come from different builds — keep the previous build's hashed \
                 assets during deploys, or purge the cached HTML",
                broken.join(", ")
            ));
        }
    }
    hint
}

/// What is wrong with an asset, if anything: not `200`, or a content type that cannot be
/// what the page asks for — a single-page-app fallback (`try_files … /index.html`, Netlify and
/// Vercel rewrites) answers a missing bundle `200 text/html`, which browsers refuse.
fn asset_problem(a: &AssetProbe) -> Option<String> {
    match (&a.status, a.content_type.as_deref()) {
        (Err(e), _) => Some(format!("{} → {e}", a.url)),
        (Ok(200), Some(ct)) if !fits(a.kind, ct) => Some(format!(
            "{} → 200 {ct}, not a {}{}",
            a.url,
            match a.kind {
                AssetKind::Script => "script",
                AssetKind::Stylesheet => "stylesheet",
            },
            if ct.contains("html") {
                " (an HTML page answered in its place: the file is missing)"
            } else {
                ""
            }
        )),
        (Ok(200), _) => None,
        (Ok(code), _) => Some(format!("{} → {code}", a.url)),
    }
}

/// True when a response of media type `ct` can be what the page asks for. Stylesheets must be
/// `text/css` (browsers refuse any other type in standards mode); scripts must not be a type
/// that is certainly something else (HTML, JSON, CSS, XML, images, audio, video, CSV) — a
/// JavaScript type, `application/octet-stream`, `text/plain` and the like may still run.
fn fits(kind: AssetKind, ct: &str) -> bool {
    match kind {
        AssetKind::Stylesheet => ct == "text/css",
        AssetKind::Script => {
            let certainly_other = ct.contains("html")
                || ct.contains("json")
                || ct.contains("xml")
                || ct == "text/css"
                || ct == "text/csv"
                || ["image/", "audio/", "video/", "font/"]
                    .iter()
                    .any(|p| ct.starts_with(p));
            !certainly_other
        }
    }
}

/// The checklist entry for the cache-busting probe: `ok` when it agrees with the ordinary
/// answer (no cache distorts what Deploywatch sees).
fn cache_bust_check(obs: &Observations, bust: &BuildInfoProbe, d: &mut Draft) {
    let plain = obs
        .build_info
        .iter()
        .find_map(|p| p.fingerprint.as_ref().ok().map(|f| f.sha.clone()));
    let (ok, what) = match (&bust.fingerprint, is_success(&bust.http)) {
        (Ok(fp), true) => match &plain {
            Some(p) if p.matches(&fp.sha) => (
                true,
                format!(
                    "same {} as without bypassing caches: no cache in the way",
                    fp.sha.short()
                ),
            ),
            Some(p) => (
                false,
                format!(
                    "{} while the ordinary request got {}: a cache serves an old answer",
                    fp.sha.short(),
                    p.short()
                ),
            ),
            None => (true, fp.sha.short().to_string()),
        },
        (Err(why), true) => (false, why.clone()),
        (_, false) if is_down(&bust.http) => (
            false,
            "the origin fails when caches are bypassed".to_string(),
        ),
        (Err(why), false) => (false, why.clone()),
        (Ok(_), false) => (false, "no usable answer".to_string()),
    };
    d.check(
        "cache_bust",
        ok,
        format!("{} ({}): {what}", describe_http(&bust.http), bust.http.url),
    );
}

/// The checklist entry for the registry lookup (what was asked, what came back, with which
/// credentials), and a warning when it could not decide.
fn image_check(img: &ImageCheck, d: &mut Draft) {
    let ok = img.outcome == ImageOutcome::Present;
    d.check("image", ok, img.summary());
    match &img.outcome {
        ImageOutcome::Unauthorized { detail } => d.warn(format!(
            "the registry check for {} could not run: {detail}",
            img.reference
        )),
        ImageOutcome::Error(why) => d.warn(format!(
            "the registry check for {} could not run: {why}",
            img.reference
        )),
        ImageOutcome::Present | ImageOutcome::Missing => {}
    }
}

/// `down` although build-info answered: the cache in front keeps serving while the origin
/// fails.
fn hidden_outage_hint(env: &str, obs: &Observations, bust: &BuildInfoProbe) -> String {
    let served = obs.build_info.iter().find_map(|p| {
        let r = answered(&p.http)?;
        let sha = p.fingerprint.as_ref().ok()?.sha.clone();
        Some((sha, cache_served(r), p.http.url.clone()))
    });
    let failure = match &bust.http.outcome {
        HttpOutcome::Answered(r) => format!("answered {}", r.status),
        HttpOutcome::Failed(f) => describe_failure(f),
    };
    let (old, signals, url) = match served {
        Some((sha, Some(w), url)) => (sha.short().to_string(), format!(" ({w})"), url),
        Some((sha, None, url)) => (sha.short().to_string(), String::new(), url),
        None => (
            "an old answer".to_string(),
            String::new(),
            obs.environment.clone(),
        ),
    };
    format!(
        "{url} still answers {old} from a cache{signals}, but a request that bypasses caches \
         {failure}: the origin behind the cache is failing (the new release of {env} may have \
         crashed on start) and the cache is hiding it. Fix the app, then purge the cache"
    )
}

fn add_warnings(obs: &Observations, d: &mut Draft, verdict: Verdict) {
    for note in &obs.notes {
        d.warn(note.clone());
    }
    for probe in &obs.build_info {
        if let Ok(fp) = &probe.fingerprint
            && fp.confidence == Confidence::Guess
        {
            let pin = match &fp.pin {
                Some(pin) => format!(": if that is right, pin it with `{pin}`"),
                None => ": if that is not this service's commit, expose it as `git_sha`".into(),
            };
            d.warn(format!(
                "the live SHA {} was guessed from {}, not read from a field that names the \
                 build's commit{pin}",
                fp.sha.short(),
                fp.source
            ));
        }
        if let Ok(fp) = &probe.fingerprint
            && fp.source.starts_with("HTML")
            && obs
                .frontend
                .as_ref()
                .is_some_and(|f| f.http.url != probe.http.url)
        {
            d.warn(format!(
                "build-info at {} answered an HTML page ({}): if a single-page app's fallback \
                 serves that URL, the SHA is the frontend's and says nothing about the backend",
                probe.http.url, fp.source
            ));
        }
        if let Some(r) = answered(&probe.http) {
            if let Some(w) = cache_served(r) {
                d.warn(format!("build-info was served from a cache ({w})"));
            }
            if r.truncated {
                d.warn(format!(
                    "build-info body was larger than the cap and was cut off after {} bytes",
                    r.body_len
                ));
            }
        }
    }
    if let Some(f) = &obs.frontend {
        if let Some(r) = answered(&f.http) {
            if (200..300).contains(&r.status) {
                match &r.cache.cache_control {
                    Some(cc) if !revalidated(cc) => {
                        d.warn(format!("frontend HTML is cacheable: Cache-Control: {cc}"))
                    }
                    None => d.warn(
                        "frontend HTML has no Cache-Control header: browsers and CDNs may cache it heuristically",
                    ),
                    Some(_) => {}
                }
            }
            if let Some(w) = cache_served(r) {
                d.warn(format!("frontend HTML was served from a cache ({w})"));
            }
        }
        let unhashed: Vec<&str> = f
            .assets
            .iter()
            .filter(|a| !a.hashed)
            .map(|a| a.url.as_str())
            .collect();
        if !unhashed.is_empty() {
            d.warn(format!(
                "assets without a content hash in the name: {}",
                unhashed.join(", ")
            ));
        }
    }
    if let Expected::Known { sha: expected, .. } = &obs.expected {
        let live_matches = d.live.as_ref().is_some_and(|l| l.matches(expected));
        if live_matches {
            if let CiState::Failed(run) = CiState::of(&obs.ci_runs) {
                d.warn(format!(
                    "CI {} for {} but it is live: it was deployed by hand or by another pipeline",
                    run.conclusion.as_deref().unwrap_or("failed"),
                    expected.short()
                ));
            }
            let built_at = obs
                .build_info
                .iter()
                .find_map(|p| p.fingerprint.as_ref().ok()?.build_date);
            if let (Some(built), CiState::Success { run, .. }) =
                (built_at, CiState::of(&obs.ci_runs))
                && built < run.created_at
            {
                d.warn(format!(
                    "the live build date ({}) is older than the CI run that built {} ({})",
                    built.format("%Y-%m-%d %H:%M UTC"),
                    expected.short(),
                    run.created_at.format("%Y-%m-%d %H:%M UTC")
                ));
            }
        }
    }
    if let (Some(live), false) = (&d.live, obs.ci_runs_live.is_empty())
        && verdict != Verdict::Live
        && let CiState::Failed(run) = CiState::of(&obs.ci_runs_live)
    {
        d.warn(format!(
            "CI {} for the live {} too",
            run.conclusion.as_deref().unwrap_or("failed"),
            live.short()
        ));
    }
}

/// True when Cache-Control makes caches revalidate the page before reuse.
fn revalidated(cache_control: &str) -> bool {
    let cc = cache_control.to_ascii_lowercase();
    cc.split(',').map(str::trim).any(|d| {
        matches!(
            d,
            "no-cache" | "no-store" | "must-revalidate" | "max-age=0" | "s-maxage=0"
        )
    })
}

/// The headers that show an answer came from a cache, if any (`X-Cache-Status: STALE`,
/// `Age: 42, X-Varnish: 32770 3; via 1.1 varnish`).
fn cache_served(r: &Response) -> Option<String> {
    let mut signals: Vec<String> = Vec::new();
    if let Some(age) = r.cache.age.filter(|a| *a > 0) {
        signals.push(format!("Age: {age}"));
    }
    if let Some(h) = &r.cache.hit_header {
        signals.push(h.clone());
    }
    if signals.is_empty() {
        return None;
    }
    let mut text = signals.join(", ");
    if r.cache.stale {
        text.push_str("; a stale copy");
    }
    if let Some(via) = &r.cache.via {
        text.push_str(&format!("; Via: {via}"));
    }
    Some(text)
}

fn answered(h: &HttpEvidence) -> Option<&Response> {
    match &h.outcome {
        HttpOutcome::Answered(r) => Some(r),
        HttpOutcome::Failed(_) => None,
    }
}

fn is_success(h: &HttpEvidence) -> bool {
    answered(h).is_some_and(|r| (200..300).contains(&r.status))
}

/// Cannot be reached, times out, or answers 5xx.
fn is_down(h: &HttpEvidence) -> bool {
    match &h.outcome {
        HttpOutcome::Failed(_) => true,
        HttpOutcome::Answered(r) => r.status >= 500,
    }
}

fn describe_http(h: &HttpEvidence) -> String {
    match &h.outcome {
        HttpOutcome::Answered(r) => format!(
            "{} {} in {} ms",
            r.status,
            r.content_type.as_deref().unwrap_or("(no content type)"),
            r.elapsed_ms
        ),
        HttpOutcome::Failed(f) => describe_failure(f),
    }
}

/// Why a request got no answer, for people: "no answer within 10 s", "cannot connect: …".
pub fn describe_failure(f: &TransportFailure) -> String {
    match f {
        TransportFailure::Timeout { after_ms } => format!(
            "no answer within {}",
            human(Duration::from_millis(*after_ms))
        ),
        TransportFailure::Connect { detail } => format!("cannot connect: {detail}"),
        TransportFailure::TooManyRedirects { limit } => {
            format!("more than {limit} redirects (a redirect loop?)")
        }
        TransportFailure::Other { detail } => detail.clone(),
    }
}

/// What was received, for people: status, type, size and the first bytes (already made
/// readable by the probe, control characters escaped: quoted as they are, not escaped again).
fn describe_received(h: &HttpEvidence) -> String {
    match answered(h) {
        Some(r) => format!(
            "received {} {}, {} bytes{}, starting \"{}\"",
            r.status,
            r.content_type.as_deref().unwrap_or("(no content type)"),
            r.body_len,
            if r.truncated {
                " (cut off at the cap)"
            } else {
                ""
            },
            r.first_bytes
        ),
        None => describe_http(h),
    }
}

fn down_hint(env: &str, first: &HttpEvidence, count: usize, obs: &Observations) -> String {
    let total = obs.build_info.len()
        + usize::from(obs.health.is_some())
        + usize::from(obs.frontend.is_some());
    let scope = if count > 1 || total == 1 {
        String::new()
    } else {
        format!(" (1 of {total} requests)")
    };
    let why = match &first.outcome {
        HttpOutcome::Answered(r) if matches!(r.status, 502..=504) => format!(
            "answered {}: the proxy in front of {env} has no healthy upstream — the app \
             container is not running, crashed on start, or is not reachable from the proxy",
            r.status
        ),
        HttpOutcome::Answered(r) => format!("answered {}: the app fails on this request", r.status),
        HttpOutcome::Failed(f) => describe_failure(f),
    };
    format!("{} {why}{scope}", first.url)
}

fn unusable_hint(env: &str, bad: &BuildInfoProbe) -> String {
    let why = bad
        .fingerprint
        .as_ref()
        .err()
        .map(String::as_str)
        .unwrap_or("no fingerprint");
    let fix = "bake the commit SHA into the image at build time (e.g. `docker build --build-arg \
               GIT_SHA=$(git rev-parse HEAD)` and `ENV GIT_SHA=$GIT_SHA`) and expose it at the \
               build-info URL as `git_sha`";
    match answered(&bad.http) {
        Some(r) if (400..500).contains(&r.status) => format!(
            "{} answered {}: is the build_info_url right? If the app has no build-info \
             endpoint yet, {fix}",
            bad.http.url, r.status
        ),
        _ => format!(
            "no usable SHA in what {env} returned ({why}; {}). Fix: {fix}",
            describe_received(&bad.http)
        ),
    }
}

fn describe_expected(obs: &Observations, expected: &Sha, basis: &ExpectedBasis) -> String {
    match basis {
        ExpectedBasis::Branch { first_seen, .. } => format!(
            "{}: head of {}, first seen {} ago",
            expected.short(),
            obs.policy.branch,
            human(age(obs.now, *first_seen))
        ),
        ExpectedBasis::Deployment { success_at } => format!(
            "{}: newest successful deployment, {} ago",
            expected.short(),
            human(age(obs.now, *success_at))
        ),
        ExpectedBasis::Cli { .. } => format!("{}: given with --expect", expected.short()),
    }
}

fn describe_seen(seen: &[SeenSha], expected: &Sha, basis: &ExpectedBasis) -> String {
    seen.iter()
        .map(|s| {
            let label = if s.sha.matches(expected) {
                ", the expected SHA"
            } else if matches!(basis, ExpectedBasis::Branch { previous: Some(p), .. } if p.matches(&s.sha)) {
                ", the previous push"
            } else {
                ""
            };
            let probes = if s.probes == 1 { "probe" } else { "probes" };
            // With `each_address`, say where each version answers, not only how often.
            let at = match s.addresses.as_slice() {
                [] => String::new(),
                [only] => format!(" at {only}"),
                [init @ .., last] => format!(" at {} and {last}", init.join(", ")),
            };
            format!("{}{at} ({} {probes}{label})", s.sha.short(), s.probes)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Time from `then` to `now`, zero if `then` is in the future (clock skew with GitHub).
fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> Duration {
    (now - then).to_std().unwrap_or(Duration::ZERO)
}

/// A duration for people: `45 s`, `14 min`, `2 h 5 min`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        if d.as_millis() < 1000 && d.as_millis() > 0 {
            return format!("{} ms", d.as_millis());
        }
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s % 3600 < 60 {
        format!("{} h", s / 3600)
    } else {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    }
}

/// The `health` entry of the checklist — the answer, what the service says of itself and its
/// failing components — plus a `disk` entry when the body reports a disk. Warnings, not
/// verdicts: components failing while the service still says it works (or is degraded), and a
/// disk running out.
fn health_check(env: &str, h: &crate::observe::HealthProbe, d: &mut Draft) {
    use crate::observe::HealthStatus;
    let failing: Vec<&crate::observe::HealthComponent> = h
        .components
        .iter()
        .filter(|c| matches!(c.status, Some(HealthStatus::Warn | HealthStatus::Down)))
        .collect();
    let ok =
        is_success(&h.http) && h.status.is_none_or(|s| s == HealthStatus::Up) && failing.is_empty();
    d.check("health", ok, describe_health(h));
    let says_down = h.status == Some(HealthStatus::Down);
    if !says_down && !is_down(&h.http) {
        let word = h.reported.as_deref().unwrap_or("nothing overall");
        if !failing.is_empty() {
            d.warn(format!(
                "the health of {env} says {word} but reports {}",
                describe_components(&failing, usize::MAX)
            ));
        } else if h.status == Some(HealthStatus::Warn) {
            d.warn(format!("the health of {env} says {word}"));
        }
    }
    if let Some(disk) = &h.disk {
        match disk.running_out() {
            Some(why) => {
                d.check(
                    crate::observe::DISK_CHECK,
                    false,
                    format!("{} — {why}", disk.describe()),
                );
                d.warn(format!(
                    "disk almost full on {env}: {} — {why}; deploys and writes will fail once \
                     it is full",
                    disk.describe()
                ));
            }
            None => d.check(crate::observe::DISK_CHECK, true, disk.describe()),
        }
    }
}

/// `200 application/json in 12 ms: DOWN — db DOWN (Connection refused), diskSpace UP`.
fn describe_health(h: &crate::observe::HealthProbe) -> String {
    /// Components named in the evidence; the rest are counted.
    const SHOWN: usize = 8;
    let mut out = describe_http(&h.http);
    // Failing components first: they are the evidence.
    let mut ordered: Vec<&crate::observe::HealthComponent> = h.components.iter().collect();
    ordered.sort_by_key(|c| match c.status {
        Some(crate::observe::HealthStatus::Down) => 0,
        Some(crate::observe::HealthStatus::Warn) => 1,
        None => 2,
        Some(crate::observe::HealthStatus::Up) => 3,
    });
    let listed = describe_components(&ordered, SHOWN);
    match (&h.reported, listed.is_empty()) {
        (Some(word), false) => out.push_str(&format!(": {word} — {listed}")),
        (Some(word), true) => out.push_str(&format!(": {word}")),
        (None, false) => out.push_str(&format!(": {listed}")),
        (None, true) => {}
    }
    out
}

/// `db DOWN (Connection refused), diskSpace UP`, at most `max` named, then `and N more`.
fn describe_components(components: &[&crate::observe::HealthComponent], max: usize) -> String {
    let mut parts: Vec<String> = components
        .iter()
        .take(max)
        .map(|c| {
            let failing = matches!(
                c.status,
                Some(crate::observe::HealthStatus::Warn | crate::observe::HealthStatus::Down)
            );
            match &c.detail {
                Some(why) if failing => format!("{} {} ({why})", c.name, c.reported),
                _ => format!("{} {}", c.name, c.reported),
            }
        })
        .collect();
    if components.len() > max {
        parts.push(format!("and {} more", components.len() - max));
    }
    parts.join(", ")
}

/// The hint when the service's own health says it is down (`DOWN`, `OUT_OF_SERVICE`, `fail`),
/// whatever the HTTP status: it runs, but says it cannot work, and names what fails.
fn health_down_hint(env: &str, h: &crate::observe::HealthProbe) -> Option<String> {
    use crate::observe::HealthStatus;
    if h.status != Some(HealthStatus::Down) {
        return None;
    }
    let word = h.reported.as_deref().unwrap_or("down");
    let answered = match answered(&h.http) {
        Some(r) => format!("answered {}", r.status),
        None => "answered".to_string(),
    };
    let failing: Vec<&crate::observe::HealthComponent> = h
        .components
        .iter()
        .filter(|c| c.status == Some(HealthStatus::Down))
        .collect();
    let cause = if failing.is_empty() {
        String::new()
    } else {
        format!(
            ": {} — the app runs, but what it depends on does not",
            describe_components(&failing, 4)
        )
    };
    Some(format!(
        "{} {answered}: {env} reports itself {word}{cause}",
        h.http.url
    ))
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
