//! One world per test: a real `docker-registry` with Bearer-token auth on 127.0.0.1, a token
//! server, GitHub's API on wiremock, an offline Sigstore PKI, and a fixture policy rewritten to
//! point at them. The `tagcli` binary runs against it through `assert_cmd`.

use std::path::PathBuf;

use cosign_verify::testing::{CertificateProfile, TestPki, image_artifact, sig_artifact};
use registry_hub::{CredentialStore, Credentials, OciConfig, RemoteRegistry, RetryPolicy};
use tagcore::{Digest, Manifest, Registry as _, Repository, Tag};
use testkit::{RegistryServer, TokenServer};
use wiremock::matchers::{body_string_contains, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const USER: &str = "nearai";
pub(crate) const PASSWORD: &str = "s3cret-registry-password";
pub(crate) const GITHUB_TOKEN: &str = "ghs_e2e_release_token";
pub(crate) const DISPATCH_TOKEN: &str = "ghs_e2e_dispatch_token";

pub(crate) struct World {
    pub(crate) rt: tokio::runtime::Runtime,
    _tokens: TokenServer,
    pub(crate) registry: RegistryServer,
    pub(crate) github: MockServer,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) pki: TestPki,
    client: RemoteRegistry,
    pub(crate) config: PathBuf,
}

impl World {
    /// Starts everything and writes `fixtures/policies/<fixture>` rewritten for this world.
    pub(crate) fn new(fixture: &str) -> Self {
        Self::build(fixture, false)
    }

    /// Like [`World::new`], with the Hub API (on the same wiremock server as GitHub) serving
    /// the registry's listings with push times, as Docker Hub does.
    pub(crate) fn with_hub(fixture: &str) -> Self {
        Self::build(fixture, true)
    }

    fn build(fixture: &str, hub: bool) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let tokens = TokenServer::start(&[(USER, PASSWORD)]);
        let registry = RegistryServer::start_token(&tokens);
        let github = rt.block_on(MockServer::start());
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::new();
        std::fs::write(dir.path().join("trusted_root.json"), pki.trusted_root_json()).unwrap();
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        let text = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/policies")
                .join(fixture),
        )
        .unwrap();
        let gh = github.uri();
        let text = text
            .replace(
                "host = \"docker.io\"",
                &if hub {
                    format!(
                        "host = \"{}\"\nhub_api = \"{gh}\"\nhub_credentials = \"registry\"\nhub_page_cap = 3",
                        registry.addr()
                    )
                } else {
                    format!("host = \"{}\"\nhub_api = \"off\"", registry.addr())
                },
            )
            .replace("[verify]\n", "[verify]\ntrusted_root = \"trusted_root.json\"\n")
            .replace(
                "[release]\n",
                &format!("[release]\napi_url = \"{gh}\"\nsend_token_to_api_url = true\n"),
            )
            .replace(
                "[[dispatch]]",
                &format!("[[dispatch]]\napi_url = \"{gh}\"\nsend_token_to_api_url = true\n#"),
            );
        let config = dir.path().join("tagcli.toml");
        std::fs::write(&config, text).unwrap();
        let client = RemoteRegistry::new(OciConfig {
            credentials: CredentialStore::new().with(registry.addr(), Credentials::basic(USER, PASSWORD)),
            retry: RetryPolicy::fast(),
            ..OciConfig::default()
        })
        .unwrap();
        let w = Self {
            rt,
            _tokens: tokens,
            registry,
            github,
            dir,
            pki,
            client,
            config,
        };
        w.github_ok();
        w
    }

    /// Mounts a GitHub that has no releases yet and accepts every write.
    pub(crate) fn github_ok(&self) {
        self.rt.block_on(async {
            self.github.reset().await;
            Mock::given(method("GET"))
                .and(path_regex("^/repos/[^/]+/[^/]+/releases/tags/.+$"))
                .respond_with(
                    ResponseTemplate::new(404).set_body_json(serde_json::json!({"message": "Not Found"})),
                )
                .mount(&self.github)
                .await;
            Mock::given(method("POST"))
                .and(path_regex("^/repos/[^/]+/[^/]+/releases$"))
                .respond_with(ResponseTemplate::new(201).set_body_json(
                    serde_json::json!({"id": 1, "html_url": "https://github.example/release"}),
                ))
                .mount(&self.github)
                .await;
            // GitHub refuses inputs a workflow does not declare; the pipelines' workflows
            // declare none.
            Mock::given(method("POST"))
                .and(path_regex("/actions/workflows/[^/]+/dispatches$"))
                .and(body_string_contains("\"inputs\""))
                .respond_with(ResponseTemplate::new(422).set_body_json(
                    serde_json::json!({"message": "Unexpected inputs provided: [\"digest\"]"}),
                ))
                .with_priority(1)
                .mount(&self.github)
                .await;
            Mock::given(method("POST"))
                .and(path_regex("dispatches$"))
                .respond_with(ResponseTemplate::new(204))
                .mount(&self.github)
                .await;
        });
    }

    /// Makes GitHub's release API answer 503 (down).
    pub(crate) fn github_down(&self) {
        self.rt.block_on(async {
            self.github.reset().await;
            Mock::given(path_regex("/releases"))
                .respond_with(ResponseTemplate::new(503))
                .mount(&self.github)
                .await;
            Mock::given(method("POST"))
                .and(path_regex("dispatches$"))
                .respond_with(ResponseTemplate::new(204))
                .mount(&self.github)
                .await;
        });
    }

    /// Returns the GitHub requests received, as (method, path, JSON body).
    pub(crate) fn github_requests(&self) -> Vec<(String, String, serde_json::Value)> {
        self.rt
            .block_on(self.github.received_requests())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.url.path().to_owned(),
                    serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null),
                )
            })
            .collect()
    }

    pub(crate) fn repo(&self, name: &str) -> Repository {
        Repository::new(self.registry.addr(), &format!("{USER}/{name}")).unwrap()
    }

    /// Pushes a fresh single-platform image built from `seed` and returns its digest.
    pub(crate) fn push_image(&self, name: &str, seed: &str) -> Digest {
        let repo = self.repo(name);
        let image = image_artifact("unused", seed);
        self.rt.block_on(async {
            for blob in &image.blobs {
                self.client.push_blob(&repo, blob).await.unwrap();
            }
            self.client
                .put_manifest_by_digest(&repo, &image.manifest)
                .await
                .unwrap()
        })
    }

    /// Pushes `manifest` by digest (its blobs must be there already).
    pub(crate) fn push_manifest(&self, name: &str, manifest: &Manifest) -> Digest {
        let repo = self.repo(name);
        self.rt
            .block_on(self.client.put_manifest_by_digest(&repo, manifest))
            .unwrap()
    }

    /// Signs `digest` keylessly as the GitHub workflow `repository`/`workflow` on `git_ref`.
    pub(crate) fn sign(
        &self,
        name: &str,
        digest: &Digest,
        repository: &str,
        workflow: &str,
        git_ref: &str,
        sha: &str,
    ) {
        let repo = self.repo(name);
        let profile = CertificateProfile::github(repository, workflow, git_ref, sha);
        let layer = self.pki.sign_keyless(&profile, &repo.to_string(), digest);
        self.push_signature(&repo, digest, layer);
    }

    /// Signs `digest` keylessly as cloud-api's main build workflow at commit `sha`, logged at
    /// `offset` seconds after the test PKI's signing time (its certificates last 10 minutes).
    pub(crate) fn sign_cloud_at(&self, name: &str, digest: &Digest, sha: &str, offset: i64) {
        let repo = self.repo(name);
        let profile = CertificateProfile::github("nearai/cloud-api", "build.yml", "refs/heads/main", sha);
        let time = cosign_verify::testing::SIGNING_TIME + offset;
        let layer =
            self.pki
                .fulcio
                .issue(&profile)
                .sign_image_at(&self.pki.rekor, &repo.to_string(), digest, time);
        self.push_signature(&repo, digest, layer);
    }

    /// Attaches a key-based `.sig` signature of `digest`, made with `key`.
    pub(crate) fn sign_with_key(&self, name: &str, digest: &Digest, key: &cosign_verify::testing::KeyPair) {
        let repo = self.repo(name);
        let layer = key.sign_image(&repo.to_string(), digest);
        self.push_signature(&repo, digest, layer);
    }

    fn push_signature(&self, repo: &Repository, digest: &Digest, layer: cosign_verify::testing::SigLayer) {
        let sig = sig_artifact(digest, &[layer]);
        let tag: Tag = sig.tag.clone().unwrap().parse().unwrap();
        self.rt.block_on(async {
            for blob in &sig.blobs {
                self.client.push_blob(repo, blob).await.unwrap();
            }
            self.client.put_manifest(repo, &tag, &sig.manifest).await.unwrap();
        });
    }

    /// Returns the manifest stored at `digest`.
    pub(crate) fn manifest(&self, name: &str, digest: &Digest) -> Manifest {
        let repo = self.repo(name);
        self.rt
            .block_on(self.client.fetch_manifest(&repo, digest))
            .unwrap()
    }

    /// Points `tag` at `digest` (as a build would).
    pub(crate) fn set_tag(&self, name: &str, tag: &str, digest: &Digest) {
        let repo = self.repo(name);
        self.rt.block_on(async {
            let m = self.client.fetch_manifest(&repo, digest).await.unwrap();
            self.client
                .put_manifest(&repo, &tag.parse().unwrap(), &m)
                .await
                .unwrap();
        });
    }

    pub(crate) fn tag(&self, name: &str, tag: &str) -> Option<Digest> {
        let repo = self.repo(name);
        self.rt
            .block_on(self.client.resolve_tag(&repo, &tag.parse().unwrap()))
            .unwrap()
    }

    /// Returns every tag of `name` (signature artifacts left out).
    pub(crate) fn tags(&self, name: &str) -> Vec<String> {
        let repo = self.repo(name);
        let mut v: Vec<String> = self
            .rt
            .block_on(self.client.list_tags(&repo))
            .unwrap()
            .tags
            .into_iter()
            .map(|t| t.tag.to_string())
            .filter(|t| !tagcore::is_signature_artifact(t))
            .collect();
        v.sort();
        v
    }

    /// Returns how many manifest PUTs the registry has answered so far.
    pub(crate) fn manifest_puts(&self) -> usize {
        self.registry
            .settled_requests()
            .iter()
            .filter(|r| r.starts_with("PUT ") && r.contains("/manifests/"))
            .count()
    }

    /// Runs `tagcli --config <world policy> args…` with the pipeline's environment.
    pub(crate) fn tagcli(&self, args: &[&str]) -> Run {
        self.tagcli_env(args, &[])
    }

    /// Runs the binary with `extra` environment variables, then scans everything it wrote
    /// (stdout, stderr, `GITHUB_OUTPUT`, the step summary) for every test credential: the
    /// registry password (and its Basic form), the GitHub tokens, and every JWT the token
    /// server issued. `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` point at scratch files unless the
    /// test sets them.
    pub(crate) fn tagcli_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut all = vec![
            ("GITHUB_TOKEN", GITHUB_TOKEN),
            ("REPOSITORY_DISPATCH_TOKEN", DISPATCH_TOKEN),
        ];
        all.extend_from_slice(extra);
        self.tagcli_registry_only(args, &all)
    }

    /// Runs tagcli with the registry's credentials and `extra` only (no GitHub tokens).
    pub(crate) fn tagcli_registry_only(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let scratch = tempfile::tempdir().unwrap();
        let file_var = |name: &str, default: &str| {
            extra
                .iter()
                .find(|(k, _)| *k == name)
                .map_or_else(|| scratch.path().join(default), |(_, v)| PathBuf::from(v))
        };
        let github_output = file_var("GITHUB_OUTPUT", "github_output");
        let github_summary = file_var("GITHUB_STEP_SUMMARY", "step_summary");
        let mut cmd = assert_cmd::Command::cargo_bin("tagcli").unwrap();
        cmd.arg("--config").arg(&self.config).args(args);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("DOCKER_CONFIG", self.dir.path().join("docker"))
            .env("DOCKER_REGISTRY_USER", USER)
            .env("DOCKER_REGISTRY_TOKEN", PASSWORD)
            .env("GITHUB_OUTPUT", &github_output)
            .env("GITHUB_STEP_SUMMARY", &github_summary);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).replace(self.registry.addr(), "[registry]"),
            stderr: String::from_utf8_lossy(&out.stderr).replace(self.registry.addr(), "[registry]"),
        };
        let json = args.windows(2).any(|w| w == ["--output", "json"]) || args.contains(&"--output=json");
        if json && !run.stdout.is_empty() {
            // Every JSON output of the end-to-end tests matches docs/output.schema.json.
            valid_output(&run.stdout);
        }
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        assert_no_secret(
            &[
                ("stdout", run.stdout.as_str()),
                ("stderr", run.stderr.as_str()),
                ("GITHUB_OUTPUT", &read(&github_output)),
                ("GITHUB_STEP_SUMMARY", &read(&github_summary)),
            ],
            &self.secrets(),
        );
        run
    }

    /// Returns every credential of this world: fixed ones and the tokens issued so far.
    fn secrets(&self) -> Vec<String> {
        use base64::Engine as _;
        let mut all = vec![
            PASSWORD.to_owned(),
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")),
            GITHUB_TOKEN.to_owned(),
            DISPATCH_TOKEN.to_owned(),
        ];
        all.extend(self._tokens.issued_tokens());
        all
    }
}

/// Panics when any of `outputs` (name, text) contains any of `secrets`, naming both.
pub(crate) fn assert_no_secret(outputs: &[(&str, &str)], secrets: &[String]) {
    for (name, text) in outputs {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(
                !text.contains(secret.as_str()),
                "a secret ({}…) appeared in {name}:\n{text}",
                secret.chars().take(4).collect::<String>()
            );
        }
    }
}

#[test]
fn the_secret_scan_finds_a_secret_anywhere() {
    let secrets = vec!["ghs_x".to_owned(), "eyJ.a.b".to_owned()];
    assert_no_secret(
        &[("stdout", "clean"), ("GITHUB_OUTPUT", "prod=sha256:1")],
        &secrets,
    );
    for leaked in ["token ghs_x", "jwt=eyJ.a.b\n"] {
        let caught =
            std::panic::catch_unwind(|| assert_no_secret(&[("GITHUB_STEP_SUMMARY", leaked)], &secrets));
        assert!(caught.is_err(), "{leaked}");
    }
}

#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Returns stdout as JSON, checked against docs/output.schema.json.
    pub(crate) fn json(&self) -> serde_json::Value {
        valid_output(&self.stdout)
    }
}

/// Panics unless `stdout` is one JSON object that matches docs/output.schema.json (every
/// violation named) with `error` an object exactly when the command failed; returns it.
pub(crate) fn valid_output(stdout: &str) -> serde_json::Value {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/output.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    });
    let value: serde_json::Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}"));
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{stdout}\ndoes not match docs/output.schema.json:\n{}",
        errors.join("\n")
    );
    let failed = matches!(value["result"].as_str(), Some("refused" | "partial"));
    assert_eq!(
        value["error"].is_object(),
        failed,
        "error is an object exactly when the command failed: {stdout}"
    );
    value
}

#[test]
fn the_schema_check_refuses_an_output_of_the_old_shape() {
    let old = r#"{"schema":1,"operation":"status","report":{"unit":"u","images":[]}}"#;
    assert!(std::panic::catch_unwind(|| valid_output(old)).is_err());
    let string_error = r#"{"schema":2,"operation":"status","unit":"u","result":"refused","dry_run":false,
        "error":"boom","warnings":[],"rate_limit":null,"images":[]}"#;
    assert!(std::panic::catch_unwind(|| valid_output(string_error)).is_err());
    let good = r#"{"schema":2,"operation":"status","unit":"u","result":"refused","dry_run":false,
        "error":{"kind":"registry_transient","message":"boom"},"warnings":[],"rate_limit":null,"images":[]}"#;
    assert_eq!(valid_output(good)["error"]["kind"], "registry_transient");
}
