//! The direction of imports among src/'s modules: no module depends, through others, on itself
//! (`outcome` knows no resource kind, the layers do not import the engine, the kinds do not
//! import the audit), and only `aws` speaks to the SDK. Read from the sources' `crate::` paths,
//! test modules left out.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::root;

/// Every .rs file under `dir` but unit tests' own files (`tests.rs`).
fn sources(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    let files = entries.flat_map(|path| if path.is_dir() { sources(&path) } else { vec![path] });
    files.filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("tests.rs")).collect()
}

/// The top-level module a file of src/ belongs to (`layers` for src/layers/region.rs).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// A file's code without its test module and its comment lines.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Top-level module -> the top-level modules its code names with `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("src");
    let modules: BTreeSet<String> = sources(&src).iter().map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources(&src) {
        let from = module_of(&src, &file);
        let named = graph.entry(from.clone()).or_default();
        for piece in code(&file).split("crate::").skip(1) {
            // `crate::a::b`, or a group: `crate::{a::b, c}`.
            let names = match piece.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap_or_default().split(',').map(str::trim).collect(),
                None => vec![piece],
            };
            for name in names {
                let to: String = name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if to != from && modules.contains(&to) {
                    named.insert(to);
                }
            }
        }
    }
    graph
}

/// A path from `from` back to `to`, if there is one.
fn path_back(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> Option<Vec<String>> {
    if from == to {
        return Some(vec![to.to_owned()]);
    }
    if !seen.insert(from.to_owned()) {
        return None;
    }
    for next in graph.get(from).into_iter().flatten() {
        if let Some(mut path) = path_back(graph, next, to, seen) {
            path.insert(0, from.to_owned());
            return Some(path);
        }
    }
    None
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let graph = imports();
    assert!(graph["layers"].contains("resources") && graph["engine"].contains("layers"), "the graph is read: {graph:?}");
    for (module, named) in &graph {
        for next in named {
            if let Some(path) = path_back(&graph, next, module, &mut BTreeSet::new()) {
                panic!("an import cycle: {module} -> {}", path.join(" -> "));
            }
        }
    }
}

#[test]
fn only_aws_names_the_sdk() {
    let src = root().join("src");
    for file in sources(&src).into_iter().filter(|f| module_of(&src, f) != "aws") {
        let code = code(&file);
        for sdk in ["aws_sdk_", "aws_smithy_", "aws_config::", "aws_credential_types::"] {
            let named = code.match_indices(sdk).any(|(at, _)| code[at..].split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).next().is_some_and(|p| p.contains("::")));
            assert!(!named, "{} names {sdk}", file.display());
        }
    }
}

#[test]
fn no_aws_error_code_is_compared_as_text_outside_aws() {
    let src = root().join("src");
    for file in sources(&src).into_iter().filter(|f| module_of(&src, f) != "aws") {
        let code = code(&file);
        for compared in [".code ==", ".code !=", ".code.as_str()", "code: \"", ".status =="] {
            let found = code.lines().find(|line| line.contains(compared) && !line.contains("Status::"));
            assert!(found.is_none(), "{}: {:?}", file.display(), found);
        }
    }
}
