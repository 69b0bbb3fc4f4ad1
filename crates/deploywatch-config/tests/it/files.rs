//! Reading and writing real files: `load`, `write_atomic`, `save`.

use std::fs;
use std::path::Path;

use deploywatch_config::{ErrorKind, load, save, write_atomic};
use tempfile::TempDir;

use crate::BASE;

/// The names in `dir`, sorted, to prove no temporary file is left behind.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn load_reads_and_names_the_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, BASE).unwrap();
    let config = load(&path).unwrap();
    assert_eq!(config.source, path);
    assert_eq!(config.projects[0].name, "shop");

    fs::write(&path, format!("{BASE}grce = \"1m\"\n")).unwrap();
    let e = load(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:15:1: project[0].environment[1].grce: unknown key `grce`; did you mean `grace`? \
             (project \"shop\", environment \"staging\")",
            path.display()
        )
    );
}

#[test]
fn load_of_a_missing_file_is_a_not_found_error_without_a_line() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nope.toml");
    let e = load(&path).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.line, None);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: configuration file not found: create it, or choose another with --config or DEPLOYWATCH_CONFIG",
            path.display()
        )
    );
}

#[test]
fn load_of_an_unreadable_or_binary_file_is_an_error() {
    let dir = TempDir::new().unwrap();
    // A directory cannot be read as a file.
    let e = load(dir.path()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert_eq!(e.line, None);
    assert!(
        e.to_string().contains(": cannot read configuration file: "),
        "{e}"
    );

    let path = dir.path().join("config.toml");
    fs::write(&path, b"[github]\n\n# caf\xe9\n").unwrap();
    let e = load(&path).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(
        e.to_string(),
        format!(
            "{}:3: configuration file is not valid UTF-8",
            path.display()
        )
    );
}

#[test]
fn write_atomic_replaces_a_valid_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, "").unwrap();
    write_atomic(&path, BASE).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), BASE);
    assert_eq!(names(dir.path()), ["config.toml"]);
}

#[test]
fn write_atomic_refuses_an_invalid_edit_and_keeps_the_old_file_byte_identical() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("config.toml");
    // Odd bytes on purpose (comment, CRLF, no final newline) to catch any rewrite.
    let old = "# mine\r\n[defaults]\r\ngrace = \"10m\" # keep";
    fs::write(&path, old).unwrap();
    let bad = BASE.replace("grace = \"10m\"", "grace = \"10 mins ago\"");
    let e = write_atomic(&path, &bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:1: defaults.grace: invalid duration \"10 mins ago\": expected e.g. 500ms, 10s, 5m, 1h",
            path.display()
        )
    );
    assert_eq!(fs::read(&path).unwrap(), old.as_bytes());
    assert_eq!(names(dir.path()), ["config.toml"]);
    // Invalid TOML is refused the same way.
    assert_eq!(
        write_atomic(&path, "[[project]").unwrap_err().kind,
        ErrorKind::Syntax
    );
    assert_eq!(fs::read(&path).unwrap(), old.as_bytes());
}

#[test]
fn write_atomic_creates_the_directory_on_first_run() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("deploywatch").join("config.toml");
    write_atomic(&path, "").unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "");
    assert_eq!(load(&path).unwrap().projects.len(), 0);
}

#[cfg(unix)]
#[test]
fn write_atomic_keeps_permissions_and_symbolic_links() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = TempDir::new().unwrap();
    let real = dir.path().join("dotfiles-config.toml");
    fs::write(&real, "").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("config.toml");
    symlink("dotfiles-config.toml", &link).unwrap();

    write_atomic(&link, BASE).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), BASE);
    let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn save_writes_an_edited_config_and_refuses_an_invalid_one() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, BASE).unwrap();
    let mut config = load(&path).unwrap();
    config.projects[0].environments[1].replicas = 3;
    save(&config).unwrap();
    assert_eq!(load(&path).unwrap(), config);

    let before = fs::read(&path).unwrap();
    config.projects[0].environments[1].name = "production".into();
    let e = save(&config).unwrap_err();
    assert!(
        e.message
            .starts_with("duplicate environment name \"production\""),
        "{e}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(names(dir.path()), ["config.toml"]);
}

#[test]
fn append_project_keeps_the_file_as_written_and_refuses_a_taken_name() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("config.toml");
    let original = format!("# our fleet — keep this comment\n{BASE}");
    fs::write(&path, &original).unwrap();
    let config = load(&path).unwrap();
    let mut added = config.projects[0].clone();
    added.name = "blog".into();
    added.repo = deploywatch_config::RepoRef {
        owner: "acme".into(),
        name: "blog".into(),
    };
    added.environments.truncate(1);
    added.environments[0].follows = deploywatch_config::Follows::Deployments;
    deploywatch_config::append_project(&path, &added, &config).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with(&original),
        "the file was rewritten:\n{text}"
    );
    let after = load(&path).unwrap();
    assert_eq!(after.projects.len(), config.projects.len() + 1);
    let got = after.projects.last().unwrap();
    assert_eq!(
        (
            got.name.as_str(),
            got.repo.to_string(),
            got.environments.len()
        ),
        ("blog", "acme/blog".to_string(), 1)
    );
    assert_eq!(got.environments[0], added.environments[0]);

    // The same name again: refused, the file byte for byte as it was.
    let before = fs::read(&path).unwrap();
    let e = deploywatch_config::append_project(&path, &added, &after).unwrap_err();
    assert!(e.message.contains("blog"), "{e}");
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(names(dir.path()), ["config.toml"]);

    // No file yet: one holding only the project.
    let fresh = dir.path().join("new/config.toml");
    deploywatch_config::append_project(&fresh, &added, &config).unwrap();
    assert_eq!(load(&fresh).unwrap().projects[0].name, "blog");
}
