//! The invariants of ARCHITECTURE.md that a test can check: the crate dependency edges it allows
//! are the only ones that exist, no function is longer than `MAX_BODY_LINES` without a reason
//! written above it, and no CLI command uses another.

use crate::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The "Allowed dependency edges" table of ARCHITECTURE.md: crate → crates it may depend on.
fn allowed() -> BTreeMap<String, Option<BTreeSet<String>>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = text
        .split("## Allowed dependency edges")
        .nth(1)
        .expect("ARCHITECTURE.md has an 'Allowed dependency edges' section");
    let mut table = BTreeMap::new();
    for line in section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [name, deps] = cells.as_slice() else {
            continue;
        };
        let name = name.trim_matches('`');
        if !name.starts_with("dbplan") {
            continue;
        }
        let deps = if *deps == "every dbplan crate" {
            None
        } else {
            Some(
                deps.split(',')
                    .map(|dep| dep.trim().trim_matches('`').to_owned())
                    .filter(|dep| dep.starts_with("dbplan"))
                    .collect(),
            )
        };
        table.insert(name.to_owned(), deps);
    }
    table
}

/// `cargo metadata` of the workspace, without dependencies.
fn cargo_metadata() -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn crate_dependencies_follow_the_architecture() {
    let metadata = cargo_metadata();
    let allowed = allowed();
    let packages = metadata["packages"].as_array().unwrap();
    let ours: BTreeSet<String> = packages
        .iter()
        .map(|package| package["name"].as_str().unwrap().to_owned())
        .collect();
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let rule = allowed
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in ARCHITECTURE.md's table of allowed edges"));
        for dependency in package["dependencies"].as_array().unwrap() {
            let dependency = dependency["name"].as_str().unwrap();
            let kind = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .find(|dep| dep["name"] == dependency)
                .and_then(|dep| dep["kind"].as_str());
            if !ours.contains(dependency) || kind == Some("dev") {
                continue;
            }
            if let Some(allowed) = rule {
                assert!(
                    allowed.contains(dependency),
                    "{name} depends on {dependency}, which ARCHITECTURE.md does not allow"
                );
            }
        }
    }
}

#[test]
fn each_third_party_engine_has_one_owning_crate() {
    let metadata = cargo_metadata();
    // dbplan-crd reads the CRD files it embeds with the YAML crate, and dbplan-testkit's fake
    // Kubernetes API server the YAML bodies of server-side apply; manifests are
    // dbplan-manifest's alone.
    let owners: [(&str, &[&str]); 3] = [
        (
            "serde-saphyr",
            &["dbplan-manifest", "dbplan-crd", "dbplan-testkit"],
        ),
        ("petgraph", &["dbplan-graph"]),
        ("sled", &["dbplan-state"]),
    ];
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        for dependency in package["dependencies"].as_array().unwrap() {
            let dependency = dependency["name"].as_str().unwrap();
            for (library, owner) in owners {
                assert!(
                    dependency != library || owner.contains(&name),
                    "{name} depends on {library}; only {owner:?} may"
                );
            }
        }
    }
}

/// The longest function body (lines between its braces) that needs no written reason.
const MAX_BODY_LINES: usize = 80;

/// What a comment directly above a long function starts with, followed by the reason.
const LONG_MARKER: &str = "// Long:";

/// The Rust files the function-length rule covers: every crate's `src/` and the CLI.
fn source_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    let crates = root().join("crates");
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        if dir.ends_with("cli") {
            walk(&dir, &mut files);
        } else if dir.join("src").is_dir() {
            walk(&dir.join("src"), &mut files);
        }
    }
    files.sort();
    files
}

/// A function whose body is longer than `MAX_BODY_LINES`.
struct LongFunction {
    name: String,
    /// 1-based line of the `fn` keyword.
    line: usize,
    body_lines: usize,
    /// The lines of the item above its `fn` line: outer attributes, doc comments, and the plain
    /// comments directly above them.
    preamble: Vec<String>,
}

/// Finds long functions with syn (free functions, methods, trait default methods, and
/// functions nested in those), so braces in strings, chars and comments never miscount.
struct FunctionLengths<'a> {
    lines: Vec<&'a str>,
    long: Vec<LongFunction>,
}

impl FunctionLengths<'_> {
    fn function(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature, block: &syn::Block) {
        let line = |column: proc_macro2::LineColumn| column.line;
        let open = line(block.brace_token.span.open().start());
        let close = line(block.brace_token.span.close().end());
        let body_lines = close.saturating_sub(open + 1);
        if body_lines <= MAX_BODY_LINES {
            return;
        }
        let fn_line = line(sig.fn_token.span.start());
        let mut attribute_lines = BTreeSet::new();
        for attr in attrs {
            let first = line(attr.pound_token.span.start());
            let last = line(attr.bracket_token.span.close().end());
            attribute_lines.extend(first..=last);
        }
        // Walk up from the `fn` line over attributes, doc comments and plain comments.
        let mut top = fn_line;
        while top > 1 {
            let above = self.lines[top - 2].trim_start();
            if attribute_lines.contains(&(top - 1)) || above.starts_with("//") {
                top -= 1;
            } else {
                break;
            }
        }
        self.long.push(LongFunction {
            name: sig.ident.to_string(),
            line: fn_line,
            body_lines,
            preamble: self.lines[top - 1..fn_line - 1]
                .iter()
                .map(|line| (*line).to_owned())
                .collect(),
        });
    }
}

impl<'ast> syn::visit::Visit<'ast> for FunctionLengths<'_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.function(&item.attrs, &item.sig, &item.block);
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.function(&item.attrs, &item.sig, &item.block);
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.function(&item.attrs, &item.sig, block);
        }
        syn::visit::visit_trait_item_fn(self, item);
    }
}

/// The reason written after `LONG_MARKER` above a function, if there is one worth the name.
fn written_reason(preamble: &[String]) -> Option<String> {
    let start = preamble
        .iter()
        .position(|line| line.trim_start().starts_with(LONG_MARKER))?;
    let mut reason = preamble[start].trim_start()[LONG_MARKER.len()..]
        .trim()
        .to_owned();
    // The reason may go on over the plain comment lines that follow it.
    for line in &preamble[start + 1..] {
        let Some(more) = line.trim_start().strip_prefix("// ") else {
            break;
        };
        reason.push(' ');
        reason.push_str(more.trim());
    }
    (reason.split_whitespace().count() >= 3).then_some(reason)
}

#[test]
fn long_functions_say_why_they_are_long() {
    let mut missing = Vec::new();
    let mut files = 0;
    for path in source_files() {
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let file = syn::parse_file(&text)
            .unwrap_or_else(|error| panic!("cannot parse {}: {error}", path.display()));
        let mut lengths = FunctionLengths {
            lines: text.lines().collect(),
            long: Vec::new(),
        };
        syn::visit::Visit::visit_file(&mut lengths, &file);
        let relative = path
            .strip_prefix(root())
            .unwrap_or(&path)
            .display()
            .to_string();
        for function in lengths.long {
            if written_reason(&function.preamble).is_none() {
                missing.push(format!(
                    "{relative}:{}: fn {} has {} lines",
                    function.line, function.name, function.body_lines
                ));
            }
        }
    }
    assert!(files > 50, "only {files} source files found");
    assert!(
        missing.is_empty(),
        "functions longer than {MAX_BODY_LINES} lines without a reason: split them, or write \
         `{LONG_MARKER} <why it is one function>` directly above each (see ARCHITECTURE.md, \
         Invariants):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_long_function_rule_reads_the_comment_above() {
    let source = r#"
fn short() {
    let _ = "}}}}";
}

// Long: one match over every variant, kept together so they read side by side.
fn explained() {
BODY}

/// Has a doc comment but no reason.
#[inline]
fn unexplained() {
BODY}

// Long:
fn empty_reason() {
BODY}
"#
    .replace("BODY", &"    let _ = '{';\n".repeat(MAX_BODY_LINES + 1));
    let file = syn::parse_file(&source).unwrap();
    let mut lengths = FunctionLengths {
        lines: source.lines().collect(),
        long: Vec::new(),
    };
    syn::visit::Visit::visit_file(&mut lengths, &file);
    let verdicts: Vec<(String, usize, bool)> = lengths
        .long
        .iter()
        .map(|function| {
            (
                function.name.clone(),
                function.body_lines,
                written_reason(&function.preamble).is_some(),
            )
        })
        .collect();
    let lines = MAX_BODY_LINES + 1;
    assert_eq!(
        verdicts,
        [
            ("explained".to_owned(), lines, true),
            ("unexplained".to_owned(), lines, false),
            ("empty_reason".to_owned(), lines, false),
        ]
    );
}

/// The paths in a command module that lead into another command module: `super::…` (the
/// `commands` module, whose only items are the commands) and `crate::commands::…`.
#[derive(Default)]
struct CommandPaths {
    found: Vec<String>,
}

impl CommandPaths {
    fn check(&mut self, idents: &[String]) {
        let leads_to_commands = match idents {
            [first, ..] if first == "super" => true,
            [first, second, ..] => first == "crate" && second == "commands",
            _ => false,
        };
        if leads_to_commands {
            self.found.push(idents.join("::"));
        }
    }
}

/// The identifiers a `use` tree starts with, down to its first branch.
fn use_prefix(tree: &syn::UseTree, idents: &mut Vec<String>) {
    match tree {
        syn::UseTree::Path(path) => {
            idents.push(path.ident.to_string());
            use_prefix(&path.tree, idents);
        }
        syn::UseTree::Name(name) => idents.push(name.ident.to_string()),
        syn::UseTree::Rename(rename) => idents.push(rename.ident.to_string()),
        syn::UseTree::Glob(_) => idents.push("*".to_owned()),
        syn::UseTree::Group(_) => {}
    }
}

impl<'ast> syn::visit::Visit<'ast> for CommandPaths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut idents = Vec::new();
        use_prefix(&item.tree, &mut idents);
        self.check(&idents);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let idents: Vec<String> = path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        self.check(&idents);
        syn::visit::visit_path(self, path);
    }
}

#[test]
fn commands_do_not_use_each_other() {
    let directory = root().join("crates/cli/commands");
    let mut modules = 0;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&directory).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|name| name == "mod.rs") {
            continue;
        }
        modules += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let file = syn::parse_file(&text)
            .unwrap_or_else(|error| panic!("cannot parse {}: {error}", path.display()));
        let mut paths = CommandPaths::default();
        syn::visit::Visit::visit_file(&mut paths, &file);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        found.extend(
            paths
                .found
                .into_iter()
                .map(|path| format!("{name}: {path}")),
        );
    }
    assert!(modules >= 10, "only {modules} command modules found");
    assert!(
        found.is_empty(),
        "a command module uses another command; move what they share to crates/cli/shared.rs \
         (ARCHITECTURE.md, the dbplan package):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_command_rule_sees_uses_and_paths() {
    let source = r#"
use super::plan::{self, Format};
use crate::commands::lint;
use crate::shared::{self, PlanArgs};
use std::path::Path;
fn run() {
    let _ = super::lint::today();
    let _ = crate::shared::today();
}
"#;
    let file = syn::parse_file(source).unwrap();
    let mut paths = CommandPaths::default();
    syn::visit::Visit::visit_file(&mut paths, &file);
    assert_eq!(
        paths.found,
        ["super::plan", "crate::commands::lint", "super::lint::today"]
    );
}
