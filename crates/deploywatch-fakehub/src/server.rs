//! The HTTP side of the fake: routing, the REST API's bookkeeping (authentication, rate limits,
//! ETags and `304`s, paging) and the github.com device-flow endpoints.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use serde_json::Value;

use crate::render::Ctx;
use crate::state::{
    CommitStatus, Content, Deployment, DeploymentStatus, Environment, Repo, Run, Workflow,
};
use crate::{RequestRecord, Shared, State, WINDOW, WriteRecord, device};

/// Cap on a device-flow request body; real ones are a few dozen bytes.
const MAX_FORM_BODY: usize = 64 * 1024;

/// Cap on a REST write's JSON body; a status is a few hundred bytes.
const MAX_JSON_BODY: usize = 1024 * 1024;

/// The operations of the two writes, as named in GitHub's OpenAPI description.
const CREATE_COMMIT_STATUS: &str = "repos/create-commit-status";
const CREATE_DEPLOYMENT_STATUS: &str = "repos/create-deployment-status";

/// GitHub's maximum `description` of a commit or deployment status, in characters.
const MAX_DESCRIPTION_CHARS: usize = 140;

/// Entry point for every request.
pub(crate) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let if_none_match = header_str(&parts.headers, header::IF_NONE_MATCH).map(str::to_owned);
    let authorization = parts.headers.contains_key(header::AUTHORIZATION);
    let path = parts.uri.path().to_owned();

    let is_web = matches!(
        path.as_str(),
        "/login/device/code" | "/login/oauth/access_token" | "/login/device"
    );
    let is_write = !is_web && is_write_method(&parts.method);
    let (response, written) = if is_web {
        let bytes = axum::body::to_bytes(body, MAX_FORM_BODY)
            .await
            .unwrap_or_default();
        let response = web(&shared, &parts.method, &path, &parts.headers, &bytes);
        (response, None)
    } else {
        // A body over the cap reads as no body, which the write answers as unparsable JSON.
        let bytes = if is_write {
            axum::body::to_bytes(body, MAX_JSON_BODY)
                .await
                .unwrap_or_default()
        } else {
            Default::default()
        };
        let request = ApiRequest {
            method: &parts.method,
            path: &path,
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &bytes,
        };
        let response = api(&shared, &request);
        (response, is_write.then(|| recorded_body(&bytes)))
    };

    let mut state = shared.lock();
    let status = response.status().as_u16();
    if let Some(body) = written {
        state.writes.push(WriteRecord {
            method: parts.method.to_string(),
            path: path.clone(),
            body,
            status,
            at: Utc::now(),
        });
    }
    state.requests.push(RequestRecord {
        method: parts.method.to_string(),
        path_and_query,
        status,
        if_none_match,
        authorization,
        at: Instant::now(),
    });
    drop(state);
    response
}

/// The methods that change something on GitHub.
fn is_write_method(method: &Method) -> bool {
    [Method::POST, Method::PATCH, Method::PUT, Method::DELETE].contains(method)
}

/// A write's body as recorded: its JSON, `Null` when empty, the text when it is not JSON.
fn recorded_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The github.com side: the device flow.
fn web(shared: &Shared, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    if path == "/login/device" {
        // Where `verification_uri` points: a demo user lands here instead of github.com.
        return plain(
            StatusCode::OK,
            "deploywatch-fakehub: the device code is approved by the test or demo script.\n",
        );
    }
    if method != Method::POST {
        return plain(StatusCode::NOT_FOUND, "Not Found\n");
    }
    let params = request_params(headers, body);
    let param = |key: &str| params.get(key).map_or("", String::as_str);
    let web_url = shared.origin();
    let answer = {
        let mut state = shared.lock();
        if path == "/login/device/code" {
            device::device_code(
                state.device.as_mut(),
                param("client_id"),
                param("scope"),
                &web_url,
            )
        } else {
            device::poll(
                state.device.as_mut(),
                param("client_id"),
                param("device_code"),
                param("grant_type"),
            )
        }
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let wants_json =
        header_str(headers, header::ACCEPT).is_some_and(|accept| accept.contains("json"));
    if wants_json {
        return json_response(status, &answer.fields, HeaderMap::new());
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    if let Value::Object(map) = &answer.fields {
        for (key, value) in map {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            form.append_pair(key, &text);
        }
    }
    let mut response = Response::new(Body::from(form.finish()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    response
}

/// The parameters of a device-flow POST: a JSON object or a form body, plus the query string
/// GitHub also accepts. Malformed bodies yield no parameters (and so an error answer).
fn request_params(headers: &HeaderMap, body: &[u8]) -> BTreeMap<String, String> {
    let is_json = header_str(headers, header::CONTENT_TYPE).is_some_and(|ct| ct.contains("json"));
    if is_json {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return BTreeMap::new();
        };
        return map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect();
    }
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A computed REST answer before the conditional-request and rate-limit bookkeeping.
struct Answer {
    status: StatusCode,
    body: Value,
    headers: HeaderMap,
}

impl Answer {
    fn ok(body: Value) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            headers: HeaderMap::new(),
        }
    }
}

/// One REST request as the API handler sees it.
struct ApiRequest<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a str,
    headers: &'a HeaderMap,
    /// Read for writes only; empty for reads.
    body: &'a [u8],
}

/// The REST API: authentication, secondary and primary rate limits, routing, ETags.
fn api(shared: &Shared, request: &ApiRequest<'_>) -> Response {
    let ApiRequest {
        method,
        path,
        query,
        headers,
        body,
    } = *request;
    let (prefix, route) = match path.strip_prefix("/api/v3") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => ("/api/v3", rest),
        _ => ("", path),
    };
    let api_base = format!("{}{prefix}", shared.origin());
    let ctx = Ctx {
        examples: &shared.examples,
        api_base: &api_base,
    };
    let segments: Vec<String> = route
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let is_rate_limit = segments == ["rate_limit"];

    let mut state = shared.lock();
    let now = Utc::now();
    if now >= state.rate.reset {
        state.rate.remaining = state.rate.limit;
        state.rate.reset = now + WINDOW;
    }

    let answer = if !bearer_matches(headers, state.token.as_deref()) {
        Answer {
            status: StatusCode::UNAUTHORIZED,
            body: ctx.error(401, "Bad credentials", &shared.examples.docs_root),
            headers: HeaderMap::new(),
        }
    } else if let Some(seconds) = state.retry_after {
        let mut extra = HeaderMap::new();
        extra.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        let body = ctx.error(
            429,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        );
        return finish(
            &mut state,
            Answer {
                status: StatusCode::TOO_MANY_REQUESTS,
                body,
                headers: extra,
            },
            headers,
            false,
        );
    } else if state.rate.remaining == 0 && !is_rate_limit {
        let who = if headers.contains_key(header::AUTHORIZATION) {
            "user ID 1.".to_owned()
        } else {
            "127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)".to_owned()
        };
        let body = ctx.error(
            403,
            &format!("API rate limit exceeded for {who}"),
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
        );
        return finish(
            &mut state,
            Answer {
                status: StatusCode::FORBIDDEN,
                body,
                headers: HeaderMap::new(),
            },
            headers,
            false,
        );
    } else if *method == Method::POST {
        route_post(&ctx, &mut state, &segments, body)
    } else if *method != Method::GET {
        Answer {
            status: StatusCode::NOT_FOUND,
            body: ctx.error(404, "Not Found", &shared.examples.docs_root),
            headers: HeaderMap::new(),
        }
    } else {
        let authorised = headers.contains_key(header::AUTHORIZATION);
        route_get(&ctx, &state, &segments, route, query, authorised)
    };
    // GitHub does not count `/rate_limit` against the limit.
    finish(&mut state, answer, headers, !is_rate_limit)
}

/// Whether the request's `Authorization` carries the required token (`Bearer` or `token`).
fn bearer_matches(headers: &HeaderMap, required: Option<&str>) -> bool {
    let Some(required) = required else {
        return true;
    };
    let Some(value) = header_str(headers, header::AUTHORIZATION) else {
        return false;
    };
    let mut parts = value.splitn(2, ' ');
    let scheme = parts.next().unwrap_or("");
    let token = parts.next().unwrap_or("").trim();
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        && token == required
}

/// Adds the ETag and rate-limit headers, answers `304` to a matching `If-None-Match`, and
/// charges the rate limit when `counts`: for every answer but a `304` to an authorised request
/// (GitHub: a conditional request is free only "if a 304 response is returned and the request
/// was made while correctly authorized with an Authorization header").
fn finish(
    state: &mut State,
    answer: Answer,
    request_headers: &HeaderMap,
    counts: bool,
) -> Response {
    let body = answer.body.to_string();
    let etag = format!("\"{:016x}\"", fnv1a(body.as_bytes()));
    let not_modified = answer.status == StatusCode::OK
        && header_str(request_headers, header::IF_NONE_MATCH)
            .is_some_and(|inm| etag_matches(inm, &etag));
    let authorised = request_headers.contains_key(header::AUTHORIZATION);
    if counts && !(not_modified && authorised) {
        state.rate.remaining = state.rate.remaining.saturating_sub(1);
    }
    let mut response = if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_body_response(answer.status, body)
    };
    let headers = response.headers_mut();
    headers.extend(answer.headers);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    let rate = &state.rate;
    headers.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
    headers.insert(
        "x-ratelimit-reset",
        HeaderValue::from(rate.reset.timestamp()),
    );
    headers.insert(
        "x-ratelimit-used",
        HeaderValue::from(rate.limit - rate.remaining),
    );
    headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
    response
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, RFC 9110 §13.1.2).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// FNV-1a, 64 bits: a stable, dependency-free digest of the body for the ETag. Only equality
/// matters here, not resistance to collisions made on purpose.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn json_body_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn json_response(status: StatusCode, body: &Value, extra: HeaderMap) -> Response {
    let mut response = json_body_response(status, body.to_string());
    response.headers_mut().extend(extra);
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Page selection from `per_page` (default 30, at most 100, as on GitHub) and `page` (from 1).
struct Paging {
    per_page: usize,
    page: usize,
}

impl Paging {
    fn from(params: &BTreeMap<String, String>) -> Paging {
        let per_page = params
            .get("per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(30)
            .clamp(1, 100);
        let page = params
            .get("page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        Paging { per_page, page }
    }

    fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.page - 1)
            .saturating_mul(self.per_page)
            .min(items.len());
        let end = start.saturating_add(self.per_page).min(items.len());
        &items[start..end]
    }

    /// GitHub's `Link` header (`next`, `last`, `first`, `prev`) for a list of `total` items.
    fn link(
        &self,
        url: &str,
        params: &BTreeMap<String, String>,
        total: usize,
    ) -> Option<HeaderValue> {
        let last = total.div_ceil(self.per_page).max(1);
        let page_url = |page: usize| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (key, value) in params.iter().filter(|(k, _)| *k != "page") {
                query.append_pair(key, value);
            }
            query.append_pair("page", &page.to_string());
            format!("<{url}?{}>", query.finish())
        };
        let mut links = Vec::new();
        if self.page < last {
            links.push(format!("{}; rel=\"next\"", page_url(self.page + 1)));
            links.push(format!("{}; rel=\"last\"", page_url(last)));
        }
        if self.page > 1 {
            links.push(format!("{}; rel=\"first\"", page_url(1)));
            links.push(format!("{}; rel=\"prev\"", page_url(self.page - 1)));
        }
        if links.is_empty() {
            None
        } else {
            HeaderValue::from_str(&links.join(", ")).ok()
        }
    }
}

fn with_link(mut answer: Answer, link: Option<HeaderValue>) -> Answer {
    if let Some(link) = link {
        answer.headers.insert(header::LINK, link);
    }
    answer
}

/// Routes a GET to its operation. `route` is the path without any `/api/v3` prefix;
/// `authorised` says whether the request carried an `Authorization` header (a private
/// repository is invisible without one).
fn route_get(
    ctx: &Ctx<'_>,
    state: &State,
    segments: &[&str],
    route: &str,
    query: &str,
    authorised: bool,
) -> Answer {
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let not_found = |operation: &str| Answer {
        status: StatusCode::NOT_FOUND,
        body: ctx.error(404, "Not Found", ctx.examples.doc(operation)),
        headers: HeaderMap::new(),
    };
    let error = |status: StatusCode, message: &str, operation: &str| Answer {
        status,
        body: ctx.error(status.as_u16(), message, ctx.examples.doc(operation)),
        headers: HeaderMap::new(),
    };
    let list_url = format!("{}{route}", ctx.api_base);

    match segments {
        ["rate_limit"] => {
            let rate = &state.rate;
            Answer::ok(ctx.rate_limit(
                rate.limit,
                rate.remaining,
                rate.limit - rate.remaining,
                rate.reset.timestamp(),
            ))
        }
        ["repos", owner, name, rest @ ..] => {
            let Some(repo) = state
                .repo(owner, name)
                .filter(|repo| authorised || !repo.private)
            else {
                return not_found(operation_of(rest));
            };
            match rest {
                [] => Answer::ok(ctx.repository(repo)),
                ["environments"] => {
                    if repo.environments_unavailable {
                        return not_found("repos/get-all-environments");
                    }
                    let environments: Vec<&Environment> = repo.environments.iter().collect();
                    let paging = Paging::from(&params);
                    let body =
                        ctx.environments(repo, paging.slice(&environments), environments.len());
                    with_link(
                        Answer::ok(body),
                        paging.link(&list_url, &params, environments.len()),
                    )
                }
                ["actions", "workflows"] => {
                    let mut workflows: Vec<&Workflow> = repo.workflows.iter().collect();
                    workflows.sort_by_key(|w| w.id);
                    let paging = Paging::from(&params);
                    let body = ctx.workflows(repo, paging.slice(&workflows), workflows.len());
                    with_link(
                        Answer::ok(body),
                        paging.link(&list_url, &params, workflows.len()),
                    )
                }
                ["contents", path @ ..] => {
                    const OP: &str = "repos/get-content";
                    let path = path.join("/");
                    // One tree for every ref; a ref must still name something.
                    let git_ref = match params.get("ref").filter(|r| !r.is_empty()) {
                        Some(r) if r == repo.default_branch() || repo.resolve(r).is_some() => {
                            r.clone()
                        }
                        Some(r) => {
                            return error(
                                StatusCode::NOT_FOUND,
                                &format!("No commit found for the ref {r}"),
                                OP,
                            );
                        }
                        None => repo.default_branch().to_owned(),
                    };
                    match repo.content(&path) {
                        Content::File(text) => {
                            Answer::ok(ctx.content_file(repo, &path, text, &git_ref))
                        }
                        Content::Dir(entries) => {
                            Answer::ok(ctx.content_directory(repo, &entries, &git_ref))
                        }
                        Content::Missing => not_found(OP),
                    }
                }
                ["branches", branch @ ..] if !branch.is_empty() => {
                    const OP: &str = "repos/get-branch";
                    let branch = branch.join("/");
                    match repo.branches.get(&branch) {
                        Some(sha) => Answer::ok(ctx.branch(repo, &branch, sha)),
                        None => error(StatusCode::NOT_FOUND, "Branch not found", OP),
                    }
                }
                ["actions", "runs"] => {
                    let mut runs: Vec<&Run> = repo
                        .runs
                        .iter()
                        .filter(|run| {
                            params
                                .get("head_sha")
                                .is_none_or(|sha| run.head_sha.eq_ignore_ascii_case(sha))
                        })
                        .filter(|run| params.get("branch").is_none_or(|b| run.head_branch == *b))
                        .filter(|_| params.get("event").is_none_or(|e| e == "push"))
                        .filter(|run| {
                            // GitHub's `status` filter accepts a status or a conclusion.
                            params.get("status").is_none_or(|s| {
                                run.status == *s || run.conclusion.as_deref() == Some(s.as_str())
                            })
                        })
                        .collect();
                    runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
                    let paging = Paging::from(&params);
                    let body = ctx.runs(repo, paging.slice(&runs), runs.len());
                    with_link(
                        Answer::ok(body),
                        paging.link(&list_url, &params, runs.len()),
                    )
                }
                ["actions", "runs", id] => match id
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| repo.runs.iter().find(|r| r.id == id))
                {
                    Some(run) => Answer::ok(ctx.get_run(repo, run)),
                    None => not_found("actions/get-workflow-run"),
                },
                ["deployments"] => {
                    let mut deployments: Vec<&Deployment> = repo
                        .deployments
                        .iter()
                        .filter(|d| {
                            params
                                .get("sha")
                                .is_none_or(|sha| d.sha.eq_ignore_ascii_case(sha))
                        })
                        .filter(|d| params.get("ref").is_none_or(|r| d.git_ref == *r))
                        .filter(|d| {
                            params
                                .get("environment")
                                .is_none_or(|e| d.environment == *e)
                        })
                        .filter(|_| params.get("task").is_none_or(|t| t == "deploy"))
                        .collect();
                    deployments
                        .sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
                    let paging = Paging::from(&params);
                    let body = ctx.deployments(repo, paging.slice(&deployments));
                    with_link(
                        Answer::ok(body),
                        paging.link(&list_url, &params, deployments.len()),
                    )
                }
                ["deployments", id, tail @ ..] => {
                    let deployment = id
                        .parse::<u64>()
                        .ok()
                        .and_then(|id| repo.deployments.iter().find(|d| d.id == id));
                    match (deployment, tail) {
                        (Some(d), []) => Answer::ok(ctx.get_deployment(repo, d)),
                        (Some(d), ["statuses"]) => {
                            let mut statuses: Vec<&DeploymentStatus> = d.statuses.iter().collect();
                            statuses.sort_by(|a, b| {
                                b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id))
                            });
                            let paging = Paging::from(&params);
                            let body = ctx.deployment_statuses(repo, d, paging.slice(&statuses));
                            with_link(
                                Answer::ok(body),
                                paging.link(&list_url, &params, statuses.len()),
                            )
                        }
                        (None, []) => not_found("repos/get-deployment"),
                        (None, ["statuses"]) => not_found("repos/list-deployment-statuses"),
                        _ => not_found(""),
                    }
                }
                ["compare", basehead @ ..] if !basehead.is_empty() => {
                    const OP: &str = "repos/compare-commits-with-basehead";
                    let basehead = basehead.join("/");
                    let Some((base_ref, head_ref)) = basehead.split_once("...") else {
                        return not_found(OP);
                    };
                    let (Some(base), Some(head)) = (repo.resolve(base_ref), repo.resolve(head_ref))
                    else {
                        return not_found(OP);
                    };
                    match repo.compare(&base, &head) {
                        Some(cmp) => Answer::ok(ctx.compare(
                            repo,
                            (base_ref, head_ref),
                            (&base, &head),
                            &cmp,
                        )),
                        None => error(
                            StatusCode::NOT_FOUND,
                            &format!("No common ancestor between {base_ref} and {head_ref}."),
                            OP,
                        ),
                    }
                }
                ["commits", reference @ ..] if !reference.is_empty() => {
                    const OP: &str = "repos/get-commit";
                    let reference = reference.join("/");
                    match repo.resolve(&reference) {
                        Some(sha) => Answer::ok(ctx.get_commit(repo, &sha)),
                        None => error(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            &format!("No commit found for SHA: {reference}"),
                            OP,
                        ),
                    }
                }
                _ => not_found(""),
            }
        }
        _ => not_found(""),
    }
}

/// The operation a repository path names, for the `documentation_url` of its 404.
fn operation_of(rest: &[&str]) -> &'static str {
    match rest {
        [] => "repos/get",
        ["environments"] => "repos/get-all-environments",
        ["actions", "workflows"] => "actions/list-repo-workflows",
        ["contents", ..] => "repos/get-content",
        ["branches", ..] => "repos/get-branch",
        ["actions", "runs"] => "actions/list-workflow-runs-for-repo",
        ["actions", "runs", _] => "actions/get-workflow-run",
        ["deployments"] => "repos/list-deployments",
        ["deployments", _] => "repos/get-deployment",
        ["deployments", _, "statuses"] => "repos/list-deployment-statuses",
        ["compare", ..] => "repos/compare-commits-with-basehead",
        ["commits", ..] => "repos/get-commit",
        _ => "",
    }
}

/// A write's error answer, boxed: the fallible steps of a write return it early.
type Refusal = Box<Answer>;

/// What a write creates, from its path.
enum Write<'a> {
    /// `POST /repos/{o}/{r}/statuses/{sha}`.
    CommitStatus { sha: &'a str },
    /// `POST /repos/{o}/{r}/deployments/{id}/statuses`.
    DeploymentStatus { id: &'a str },
}

impl Write<'_> {
    fn operation(&self) -> &'static str {
        match self {
            Write::CommitStatus { .. } => CREATE_COMMIT_STATUS,
            Write::DeploymentStatus { .. } => CREATE_DEPLOYMENT_STATUS,
        }
    }

    /// The `resource` GitHub names in a validation error.
    fn resource(&self) -> &'static str {
        match self {
            Write::CommitStatus { .. } => "Status",
            Write::DeploymentStatus { .. } => "DeploymentStatus",
        }
    }

    /// The fine-grained permission the write needs, as GitHub names it in
    /// `X-Accepted-GitHub-Permissions`.
    fn permission(&self) -> &'static str {
        match self {
            Write::CommitStatus { .. } => "statuses=write",
            Write::DeploymentStatus { .. } => "deployments=write",
        }
    }
}

/// An error answer of a write, with the operation's documentation page.
fn write_error(ctx: &Ctx<'_>, status: StatusCode, message: &str, operation: &str) -> Answer {
    Answer {
        status,
        body: ctx.error(status.as_u16(), message, ctx.examples.doc(operation)),
        headers: HeaderMap::new(),
    }
}

/// A `422 Validation Failed` of a write about `field` (or the whole resource).
fn invalid(ctx: &Ctx<'_>, write: &Write<'_>, field: Option<&str>, message: &str) -> Answer {
    let operation = write.operation();
    Answer {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body: ctx.validation_failed(
            (write.resource(), field, "custom", message),
            ctx.examples.doc(operation),
        ),
        headers: HeaderMap::new(),
    }
}

/// The request's string field `key`: `None` when absent or `null`; a `422` naming the field
/// when it is something else, as GitHub's schema validation answers.
fn text_field(
    ctx: &Ctx<'_>,
    body: &serde_json::Map<String, Value>,
    key: &str,
    operation: &str,
) -> Result<Option<String>, Refusal> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(Box::new(write_error(
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Invalid request.\n\nFor 'properties/{key}', {other} is not a string."),
            operation,
        ))),
    }
}

/// Routes a `POST` to its operation and applies it: checks as GitHub does (the repository,
/// write access, the body, the commit or deployment, the state and description, the number of
/// statuses) and creates the status.
fn route_post(ctx: &Ctx<'_>, state: &mut State, segments: &[&str], body: &[u8]) -> Answer {
    let (owner, name, write) = match segments {
        ["repos", owner, name, "statuses", sha] => (*owner, *name, Write::CommitStatus { sha }),
        ["repos", owner, name, "deployments", id, "statuses"] => {
            (*owner, *name, Write::DeploymentStatus { id })
        }
        _ => return write_error(ctx, StatusCode::NOT_FOUND, "Not Found", ""),
    };
    let operation = write.operation();
    if state.repo(owner, name).is_none() {
        return write_error(ctx, StatusCode::NOT_FOUND, "Not Found", operation);
    }
    if state.read_only {
        let mut answer = write_error(
            ctx,
            StatusCode::FORBIDDEN,
            "Resource not accessible by personal access token",
            operation,
        );
        answer.headers.insert(
            "x-accepted-github-permissions",
            HeaderValue::from_static(write.permission()),
        );
        return answer;
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return write_error(
            ctx,
            StatusCode::BAD_REQUEST,
            "Problems parsing JSON",
            operation,
        );
    };
    let allowed = ctx.examples.allowed(operation, "state");
    let Some(new_state) = fields
        .get("state")
        .and_then(Value::as_str)
        .filter(|s| allowed.iter().any(|a| a == s))
    else {
        return invalid(
            ctx,
            &write,
            Some("state"),
            "state is not included in the list",
        );
    };
    let description = match text_field(ctx, &fields, "description", operation) {
        Ok(description) => description,
        Err(answer) => return *answer,
    };
    if description
        .as_deref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        let message =
            format!("description is too long (maximum is {MAX_DESCRIPTION_CHARS} characters)");
        return invalid(ctx, &write, Some("description"), &message);
    }
    let result = match write {
        Write::CommitStatus { sha } => create_commit_status(
            ctx,
            state,
            (owner, name),
            sha,
            new_state,
            description,
            &fields,
        ),
        Write::DeploymentStatus { id } => create_deployment_status(
            ctx,
            state,
            (owner, name),
            id,
            new_state,
            description,
            &fields,
        ),
    };
    result.unwrap_or_else(|answer| *answer)
}

/// `POST /repos/{o}/{r}/statuses/{sha}` once the common checks passed.
fn create_commit_status(
    ctx: &Ctx<'_>,
    state: &mut State,
    (owner, name): (&str, &str),
    reference: &str,
    new_state: &str,
    description: Option<String>,
    fields: &serde_json::Map<String, Value>,
) -> Result<Answer, Refusal> {
    let write = Write::CommitStatus { sha: reference };
    let target_url = text_field(ctx, fields, "target_url", CREATE_COMMIT_STATUS)?;
    let context = text_field(ctx, fields, "context", CREATE_COMMIT_STATUS)?
        // The request schema's default.
        .unwrap_or_else(|| "default".to_owned());
    let not_found = || {
        Box::new(write_error(
            ctx,
            StatusCode::NOT_FOUND,
            "Not Found",
            CREATE_COMMIT_STATUS,
        ))
    };
    let repo = state.repo(owner, name).ok_or_else(not_found)?;
    let Some(sha) = repo.resolve(reference) else {
        return Err(Box::new(write_error(
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("No commit found for SHA: {reference}"),
            CREATE_COMMIT_STATUS,
        )));
    };
    let existing = repo
        .statuses
        .iter()
        .filter(|s| s.sha == sha && s.context.eq_ignore_ascii_case(&context))
        .count();
    if existing >= state.max_statuses {
        return Err(Box::new(invalid(
            ctx,
            &write,
            None,
            "This SHA and context has reached the maximum number of statuses.",
        )));
    }
    let id = state.next_id();
    let status = CommitStatus {
        id,
        sha,
        state: new_state.to_owned(),
        context,
        description,
        target_url,
        created_at: Utc::now(),
    };
    let repo = state.existing_repo_mut(owner, name).ok_or_else(not_found)?;
    let body = ctx.commit_status(repo, &status);
    let location = ctx.status_url(repo, &status.sha);
    repo.statuses.push(status);
    Ok(created(body, &location))
}

/// `POST /repos/{o}/{r}/deployments/{id}/statuses` once the common checks passed. A `success`
/// marks earlier successful deployments to the same non-production environment `inactive`
/// unless `auto_inactive` is `false`, as GitHub does.
fn create_deployment_status(
    ctx: &Ctx<'_>,
    state: &mut State,
    (owner, name): (&str, &str),
    id: &str,
    new_state: &str,
    description: Option<String>,
    fields: &serde_json::Map<String, Value>,
) -> Result<Answer, Refusal> {
    let op = CREATE_DEPLOYMENT_STATUS;
    let not_found = || Box::new(write_error(ctx, StatusCode::NOT_FOUND, "Not Found", op));
    let environment = text_field(ctx, fields, "environment", op)?;
    let environment_url = text_field(ctx, fields, "environment_url", op)?;
    // GitHub: "Setting `log_url` will automatically set `target_url` to the same value", and
    // the legacy `target_url` alone is still accepted.
    let log_url = match text_field(ctx, fields, "log_url", op)? {
        Some(url) => Some(url),
        None => text_field(ctx, fields, "target_url", op)?,
    };
    let auto_inactive = fields
        .get("auto_inactive")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let repo = state.repo(owner, name).ok_or_else(not_found)?;
    let Some(deployment) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| repo.deployments.iter().find(|d| d.id == id))
    else {
        return Err(not_found());
    };
    let deployment_id = deployment.id;
    let target_environment = environment
        .clone()
        .unwrap_or_else(|| deployment.environment.clone());
    // Earlier deployments whose latest status is `success`, to the same environment that is
    // not a production one (the fake's `production_environment` is `environment ==
    // "production"`).
    let superseded: Vec<u64> =
        if new_state == "success" && auto_inactive && target_environment != "production" {
            repo.deployments
                .iter()
                .filter(|d| (d.created_at, d.id) < (deployment.created_at, deployment_id))
                .filter(|d| d.environment == target_environment)
                .filter(|d| d.statuses.last().is_some_and(|s| s.state == "success"))
                .map(|d| d.id)
                .collect()
        } else {
            Vec::new()
        };
    let now = Utc::now();
    let status = DeploymentStatus {
        id: state.next_id(),
        state: new_state.to_owned(),
        description: Some(description.unwrap_or_default()),
        environment,
        environment_url: Some(environment_url.unwrap_or_default()),
        log_url: Some(log_url.unwrap_or_default()),
        created_at: now,
    };
    let inactive_ids: Vec<u64> = superseded.iter().map(|_| state.next_id()).collect();
    let repo = state.existing_repo_mut(owner, name).ok_or_else(not_found)?;
    for (old, inactive_id) in superseded.iter().zip(inactive_ids) {
        if let Some(d) = repo.deployments.iter_mut().find(|d| d.id == *old) {
            d.statuses
                .push(DeploymentStatus::bare(inactive_id, "inactive", now));
        }
    }
    let repo: &Repo = repo;
    let Some(deployment) = repo.deployments.iter().find(|d| d.id == deployment_id) else {
        return Err(not_found());
    };
    let body = ctx.created_deployment_status(repo, deployment, &status);
    let location = ctx.deployment_status_url(repo, deployment_id, status.id);
    if let Some(d) = state
        .existing_repo_mut(owner, name)
        .and_then(|r| r.deployments.iter_mut().find(|d| d.id == deployment_id))
    {
        d.statuses.push(status);
    }
    Ok(created(body, &location))
}

/// `201 Created` with `body` and the `Location` GitHub's description documents for both
/// writes.
fn created(body: Value, location: &str) -> Answer {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    Answer {
        status: StatusCode::CREATED,
        body,
        headers,
    }
}
