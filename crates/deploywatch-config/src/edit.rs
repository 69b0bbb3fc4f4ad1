//! Small edits of the configuration file in place: the file's text is changed where the key
//! lives (`toml_edit`), so its comments, order and formatting stay as the person wrote them,
//! and the result is validated and written atomically like every write.

use std::path::Path;

use toml_edit::{DocumentMut, Item, TableLike, value};

use crate::error::{ConfigError, ErrorKind};
use crate::model::Config;

/// Mutes (or unmutes) notifications about a project or one of its environments in the file at
/// `path`, and returns the configuration as written.
///
/// With `environment`, that environment's own `mute` is set — or removed when it would say
/// what the project says, so the file carries no redundant key. Without, the project's `mute`
/// is set (removed when `false`) and every environment's own `mute` removed: muting a project
/// mutes all of it, unmuting it unmutes all of it.
///
/// Errors: as [`crate::load`] when the file cannot be read or is not a valid configuration
/// (it is then left as it was); [`ErrorKind::Invalid`] when it names no such project or
/// environment.
pub fn set_mute(
    path: &Path,
    project: &str,
    environment: Option<&str>,
    mute: bool,
) -> Result<Config, ConfigError> {
    let text = crate::read_text(path)?;
    // The file must be valid as it is: an edit on top of a broken file would hide the break.
    crate::parse(&text, path)?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| crate::io_error(path, ErrorKind::Syntax, format!("{e}")))?;
    let not_found = |what: String| crate::io_error(path, ErrorKind::Invalid, what);
    let projects = doc
        .get_mut("project")
        .ok_or_else(|| not_found(format!("no project named {project:?}")))?;
    let p = each_table(projects)
        .into_iter()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(project))
        .ok_or_else(|| not_found(format!("no project named {project:?}")))?;
    match environment {
        None => {
            if mute {
                p.insert("mute", value(true));
            } else {
                p.remove("mute");
            }
            if let Some(envs) = p.get_mut("environment") {
                for e in each_table(envs) {
                    e.remove("mute");
                }
            }
        }
        Some(env) => {
            let project_mute = p.get("mute").and_then(Item::as_bool).unwrap_or(false);
            let e = p
                .get_mut("environment")
                .map(each_table)
                .unwrap_or_default()
                .into_iter()
                .find(|t| t.get("name").and_then(Item::as_str) == Some(env))
                .ok_or_else(|| {
                    not_found(format!("project {project:?} has no environment {env:?}"))
                })?;
            if mute == project_mute {
                e.remove("mute");
            } else {
                e.insert("mute", value(mute));
            }
        }
    }
    let text = doc.to_string();
    crate::write_atomic(path, &text)?;
    crate::parse(&text, path)
}

/// The tables of an array of tables (`[[project]]`) or of an array of inline tables
/// (`project = [{…}]`).
fn each_table(item: &mut Item) -> Vec<&mut dyn TableLike> {
    match item {
        Item::ArrayOfTables(a) => a.iter_mut().map(|t| t as &mut dyn TableLike).collect(),
        Item::Value(toml_edit::Value::Array(a)) => a
            .iter_mut()
            .filter_map(|v| v.as_inline_table_mut())
            .map(|t| t as &mut dyn TableLike)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const FILE: &str = r#"# the team's services
[defaults]
confirm = 3 # twice is too jumpy here

[[project]]
name = "shop"
repo = "acme/shop"

  # production first
  [[project.environment]]
  name = "production"
  build_info_url = "https://shop.example.com/api/build-info"

  [[project.environment]]
  name = "preview"
  build_info_url = "https://preview.shop.example.com/api/build-info"

[[project]]
name = "blog"
repo = "acme/blog"
environment = [{ name = "live", build_info_url = "https://blog.example.com/version" }]
"#;

    fn file() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        fs::write(&path, FILE).expect("write");
        (dir, path)
    }

    fn muted(c: &Config, p: &str, e: &str) -> bool {
        let p = c.project(p).expect("project");
        p.muted(p.environment(e).expect("environment"))
    }

    #[test]
    fn muting_an_environment_changes_one_line_and_keeps_the_comments() {
        let (_dir, path) = file();
        let c = set_mute(&path, "shop", Some("preview"), true).expect("muted");
        assert!(muted(&c, "shop", "preview"));
        assert!(!muted(&c, "shop", "production"));
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.contains("# the team's services"), "{text}");
        assert!(
            text.contains("confirm = 3 # twice is too jumpy here"),
            "{text}"
        );
        assert!(text.contains("  # production first"), "{text}");
        let added: Vec<_> = text.lines().filter(|l| !FILE.contains(*l)).collect();
        assert_eq!(added, ["mute = true"], "{text}");
        // Unmuting takes the key away again: the file is as it was.
        set_mute(&path, "shop", Some("preview"), false).expect("unmuted");
        assert_eq!(fs::read_to_string(&path).expect("read"), FILE);
    }

    #[test]
    fn muting_a_project_mutes_all_of_it_and_an_environment_can_be_let_through() {
        let (_dir, path) = file();
        set_mute(&path, "shop", Some("preview"), true).expect("muted");
        let c = set_mute(&path, "shop", None, true).expect("muted");
        assert!(muted(&c, "shop", "preview") && muted(&c, "shop", "production"));
        // The environment's own key went: the project's says it.
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text.matches("mute = true").count(), 1, "{text}");
        // One environment unmuted inside a muted project says so itself.
        let c = set_mute(&path, "shop", Some("production"), false).expect("unmuted");
        assert!(!muted(&c, "shop", "production") && muted(&c, "shop", "preview"));
        assert!(
            fs::read_to_string(&path)
                .expect("read")
                .contains("mute = false")
        );
        // Unmuting the project unmutes everything and leaves no key behind.
        let c = set_mute(&path, "shop", None, false).expect("unmuted");
        assert!(!muted(&c, "shop", "production") && !muted(&c, "shop", "preview"));
        assert_eq!(fs::read_to_string(&path).expect("read"), FILE);
    }

    #[test]
    fn inline_environments_are_edited_too() {
        let (_dir, path) = file();
        let c = set_mute(&path, "blog", Some("live"), true).expect("muted");
        assert!(muted(&c, "blog", "live"));
        assert!(
            fs::read_to_string(&path)
                .expect("read")
                .contains("mute = true")
        );
    }

    #[test]
    fn an_unknown_name_or_a_broken_file_is_refused_and_the_file_kept() {
        let (_dir, path) = file();
        let e = set_mute(&path, "nope", None, true).expect_err("unknown project");
        assert!(e.message.contains("no project named \"nope\""), "{e}");
        let e = set_mute(&path, "shop", Some("qa"), true).expect_err("unknown environment");
        assert!(e.message.contains("no environment \"qa\""), "{e}");
        assert_eq!(fs::read_to_string(&path).expect("read"), FILE);
        let broken = FILE.replace("confirm = 3", "confirm = 0");
        fs::write(&path, &broken).expect("write");
        let e = set_mute(&path, "shop", None, true).expect_err("invalid file");
        assert_eq!(e.key.as_deref(), Some("defaults.confirm"), "{e}");
        assert_eq!(fs::read_to_string(&path).expect("read"), broken);
    }
}
