//! Editor support as a user gets it: the YAML language server (the engine of VS Code's YAML
//! extension and of most editors' YAML support), run over stdio with the schema `dbplan schema`
//! exports associated with the manifests, reports nothing on the shipped examples, and on a broken
//! manifest reports each mistake where `dbplan validate` reports it.
//!
//! The client speaks LSP's JSON-RPC with `Content-Length` framing over the server's stdin and
//! stdout. Every wait is bounded: a server that stops answering fails the test.

use crate::{dbplan, root, stdout};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Time for the whole session (starting Node, loading the schema, validating every file), on a
/// loaded two-core machine.
const SESSION: Duration = Duration::from_secs(120);

/// The server's entry point: `DBPLAN_YAML_LANGUAGE_SERVER`, else where `scripts/test.sh`
/// installs it. Missing, the test fails: editor support is not checked by skipping it.
fn server_script() -> PathBuf {
    if let Some(path) = std::env::var_os("DBPLAN_YAML_LANGUAGE_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "DBPLAN_YAML_LANGUAGE_SERVER names {}, which does not exist; run `bash scripts/test.sh`, which installs the YAML language server",
            path.display()
        );
        return path;
    }
    let installed = root().join(
        "target/test-deps/yaml-language-server/node_modules/yaml-language-server/bin/yaml-language-server",
    );
    assert!(
        installed.is_file(),
        "the YAML language server is not installed (neither DBPLAN_YAML_LANGUAGE_SERVER nor {} exists); run `bash scripts/test.sh`, which installs it from the npm registry",
        installed.display()
    );
    installed
}

/// A `file://` URI for an absolute path (bytes outside the unreserved set percent-encoded).
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_str().expect("test paths are UTF-8").bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// Reads one LSP message (`Content-Length` header, blank line, JSON body).
fn read_message(reader: &mut impl BufRead) -> Result<Json, String> {
    let mut length: Option<usize> = None;
    loop {
        let mut line = String::new();
        let read = reader
            .read_line(&mut line)
            .map_err(|error| format!("reading the server's output: {error}"))?;
        if read == 0 {
            return Err("the server closed its output".to_owned());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(
                value
                    .trim()
                    .parse()
                    .map_err(|error| format!("bad Content-Length {value:?}: {error}"))?,
            );
        }
    }
    let length = length.ok_or("a message without Content-Length")?;
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .map_err(|error| format!("reading a message body: {error}"))?;
    serde_json::from_slice(&body).map_err(|error| format!("a message that is not JSON: {error}"))
}

/// A running language server and the client's side of the conversation.
struct LanguageServer {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Result<Json, String>>,
    stderr: Arc<Mutex<String>>,
    deadline: Instant,
    next_id: u64,
    /// The `yaml` settings section, answered to `workspace/configuration`.
    settings: Json,
    /// The latest diagnostics published per document URI.
    diagnostics: BTreeMap<String, Vec<Json>>,
}

impl Drop for LanguageServer {
    fn drop(&mut self) {
        // The server may already have exited; either way it is gone afterwards.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LanguageServer {
    fn start(settings: Json) -> Self {
        let script = server_script();
        let mut child = Command::new("node")
            .arg(&script)
            .arg("--stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start `node {}`: {error}; run `bash scripts/test.sh`, which installs Node.js and the YAML language server",
                    script.display()
                )
            });
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut server_stderr = child.stderr.take().expect("stderr is piped");
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let message = read_message(&mut reader);
                let failed = message.is_err();
                if sender.send(message).is_err() || failed {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut buffer = [0; 4096];
            while let Ok(read) = server_stderr.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                *collected.lock().unwrap() = text.clone();
            }
        });
        LanguageServer {
            child,
            stdin,
            messages,
            stderr,
            deadline: Instant::now() + SESSION,
            next_id: 1,
            settings,
            diagnostics: BTreeMap::new(),
        }
    }

    fn send(&mut self, message: &Json) {
        let body = serde_json::to_vec(message).unwrap();
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        let written = self
            .stdin
            .write_all(header.as_bytes())
            .and_then(|()| self.stdin.write_all(&body))
            .and_then(|()| self.stdin.flush());
        if let Err(error) = written {
            self.fail(&format!("writing to the server: {error}"));
        }
    }

    fn notify(&mut self, method: &str, params: Json) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    #[track_caller]
    fn fail(&self, what: &str) -> ! {
        let stderr = self.stderr.lock().unwrap().clone();
        panic!("YAML language server: {what}\nits stderr:\n{stderr}")
    }

    /// The next message from the server, answering the server's own requests on the way and
    /// recording published diagnostics.
    fn next(&mut self) -> Json {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let message = match self.messages.recv_timeout(left) {
                Ok(Ok(message)) => message,
                Ok(Err(error)) => self.fail(&error),
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no answer within {} s", SESSION.as_secs()))
                }
                Err(RecvTimeoutError::Disconnected) => self.fail("the server's output ended"),
            };
            match (
                message.get("id"),
                message.get("method").and_then(Json::as_str),
            ) {
                // A request from the server.
                (Some(id), Some(method)) => {
                    let result = match method {
                        "workspace/configuration" => Json::Array(
                            message["params"]["items"]
                                .as_array()
                                .map(Vec::as_slice)
                                .unwrap_or_default()
                                .iter()
                                .map(|item| match item["section"].as_str() {
                                    Some("yaml") => self.settings.clone(),
                                    _ => json!({}),
                                })
                                .collect(),
                        ),
                        _ => Json::Null,
                    };
                    let id = id.clone();
                    self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
                }
                (None, Some("textDocument/publishDiagnostics")) => {
                    let uri = message["params"]["uri"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let diagnostics = message["params"]["diagnostics"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    self.diagnostics.insert(uri, diagnostics);
                    return message;
                }
                _ => return message,
            }
        }
    }

    /// Sends a request and waits for its answer.
    fn request(&mut self, method: &str, params: Json) -> Json {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.next();
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                if let Some(error) = message.get("error") {
                    self.fail(&format!("{method} failed: {error}"));
                }
                return message["result"].clone();
            }
        }
    }

    /// Opens a document and waits for the diagnostics the server publishes for it.
    fn open(&mut self, uri: &str, text: &str) -> Vec<Json> {
        self.diagnostics.remove(uri);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}),
        );
        loop {
            if let Some(diagnostics) = self.diagnostics.get(uri) {
                return diagnostics.clone();
            }
            self.next();
        }
    }

    /// The schemas the server uses for a document (`yaml/get/jsonSchema`), by URI.
    fn schemas_of(&mut self, uri: &str) -> Vec<String> {
        let result = self.request("yaml/get/jsonSchema", json!(uri));
        result
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|schema| schema["uri"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Every `*.yaml` file under `examples/` except `examples/bad/` and `examples/ci/` (GitHub
/// Actions workflows), sorted, as absolute paths.
fn example_files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root().join("examples")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == root().join("examples/bad") || path == root().join("examples/ci") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// A manifest with one mistake of each kind an editor should show; the loader refuses each at
/// the same place.
const BROKEN: &str = r#"# Mistakes an editor must show where dbplan reports them.
apiVersion: dbplan.io/v1
kind: DigitalOceanDatabaseConnectionPool
metadata:
  name: api-pool
spec:
  clusterId:
    valueFrom: {name: prod, fieldPat: status.outputs.cluster_id}
  name: api
  mode: transaction
  size: lots
  db: defaultdb
  sizeSlug: db-s-1
---
apiVersion: dbplan.io/v1
kind: PostgresServer
metadata: {name: local}
spec:
  host: 127.0.0.1
  port: "5432"
  adminPassword: {secretEnv: PG_ADMIN_PASSWORD}
  admin_password: {secret_env: PG_ADMIN_PASSWORD}
"#;

/// (1-based line, 1-based column, what the editor says) for each mistake in [`BROKEN`]. The
/// quoted port is no mistake: the loader reads it as a number.
const BROKEN_EXPECTED: &[(u64, u64, &str)] = &[
    (8, 29, "Property fieldPat is not allowed."),
    (11, 9, "Incorrect type. Expected \"integer\"."),
    (13, 3, "Property sizeSlug is not allowed."),
    (18, 1, "Missing property \"admin_user\"."),
    (
        21,
        3,
        "`adminPassword` and `admin_password` name the same field; keep one of the two spellings",
    ),
];

/// Where the loader reports errors in a text: (line, column, code), 1-based.
fn loader_errors(text: &str) -> Vec<(u64, u64, String)> {
    let mut loader = dbplan_manifest::Loader::new();
    loader.add_source("broken.yaml", text.to_owned());
    let (set, diagnostics) = loader.finish();
    let mut found: Vec<(u64, u64, String)> = diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == dbplan_diagnostics::Severity::Error)
        .map(|diagnostic| {
            let span = diagnostic.span.expect("loader diagnostics have a span");
            let (_, at) = set.sources.location(span).unwrap();
            (
                u64::from(at.line),
                u64::from(at.column),
                diagnostic.code.to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

/// (1-based line, 1-based column, message) of LSP diagnostics.
fn located(diagnostics: &[Json]) -> Vec<(u64, u64, String)> {
    let mut found: Vec<(u64, u64, String)> = diagnostics
        .iter()
        .map(|diagnostic| {
            let start = &diagnostic["range"]["start"];
            (
                start["line"].as_u64().unwrap() + 1,
                start["character"].as_u64().unwrap() + 1,
                diagnostic["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn yaml_language_server_accepts_the_examples_and_flags_mistakes_where_dbplan_does() {
    let scratch = tempfile::tempdir().unwrap();
    let output = dbplan(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let schema_path = scratch.path().join("dbplan.schema.json");
    std::fs::write(&schema_path, stdout(&output)).unwrap();
    let schema_uri = file_uri(&schema_path);
    let broken_path = scratch.path().join("broken.yaml");
    std::fs::write(&broken_path, BROKEN).unwrap();
    let broken_uri = file_uri(&broken_path);

    let examples = example_files();
    assert!(examples.len() >= 10, "examples found: {examples:?}");
    let mut associated: Vec<String> = examples.iter().map(|path| file_uri(path)).collect();
    associated.push(broken_uri.clone());
    // The schema store is off: the server would fetch its catalogue from the network.
    let settings = json!({
        "validate": true,
        "schemas": {schema_uri.clone(): associated},
        "schemaStore": {"enable": false},
    });
    let mut server = LanguageServer::start(settings.clone());
    server.request(
        "initialize",
        json!({
            "processId": std::process::id(),
            "rootUri": file_uri(root()),
            "capabilities": {
                "workspace": {"configuration": true},
                "textDocument": {"publishDiagnostics": {}},
            },
        }),
    );
    server.notify("initialized", json!({}));
    server.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"yaml": settings}}),
    );

    // The broken file first: its diagnostics show that the schema is loaded and applied.
    let diagnostics = server.open(&broken_uri, BROKEN);
    let editor = located(&diagnostics);
    let expected: Vec<(u64, u64, String)> = BROKEN_EXPECTED
        .iter()
        .map(|(line, column, message)| (*line, *column, (*message).to_owned()))
        .collect();
    assert_eq!(
        editor, expected,
        "the editor's diagnostics on the broken file: {diagnostics:#?}"
    );
    // The loader refuses the same things at the same places (its codes: unknown field, wrong
    // type, unknown field, missing field, the same field twice), plus the reference to a
    // cluster that is not in the file, which only the whole manifest set can tell.
    let loader = loader_errors(BROKEN);
    let loader_places: Vec<(u64, u64)> = loader
        .iter()
        .filter(|(_, _, code)| code.starts_with('M'))
        .map(|(line, column, _)| (*line, *column))
        .collect();
    let editor_places: Vec<(u64, u64)> = editor
        .iter()
        .map(|(line, column, _)| (*line, *column))
        .collect();
    assert_eq!(loader_places, editor_places, "loader errors: {loader:?}");
    assert!(
        loader
            .iter()
            .all(|(_, _, code)| code.starts_with('M') || code == "G001"),
        "{loader:?}"
    );

    for path in &examples {
        let uri = file_uri(path);
        let text = std::fs::read_to_string(path).unwrap();
        let diagnostics = server.open(&uri, &text);
        let relative = path.strip_prefix(root()).unwrap().display().to_string();
        assert!(
            diagnostics.is_empty(),
            "{relative}: the editor reports {:#?}",
            located(&diagnostics)
        );
        assert_eq!(
            server.schemas_of(&uri),
            vec![schema_uri.clone()],
            "{relative} is validated against the exported schema"
        );
    }
    server.request("shutdown", Json::Null);
    server.notify("exit", Json::Null);
}
