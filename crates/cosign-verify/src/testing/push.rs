//! Pushes artifacts to a plain-HTTP registry on loopback (the testkit `docker-registry`):
//! blob uploads then the manifest, as cosign does. The `tagcore::Registry` port has no blob
//! upload, so tests that need signed images on a real registry use this.

use tagcore::Digest;

use super::artifact::Artifact;

/// Uploads `artifact`'s blobs to `repository` (a path such as `nearai/cloud-api`) on the
/// registry at `addr` (`127.0.0.1:PORT`), then its manifest under its tag (or by digest), and
/// returns the digest the registry reports. Refuses any address that is not loopback.
pub async fn push_to_registry(addr: &str, repository: &str, artifact: &Artifact) -> Result<Digest, String> {
    if !(addr.starts_with("127.0.0.1:") || addr.starts_with("localhost:") || addr.starts_with("[::1]:")) {
        return Err(format!(
            "refusing to push to {addr}: test pushes go to loopback only"
        ));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let base = format!("http://{addr}/v2/{repository}");
    for blob in &artifact.blobs {
        let digest = Digest::of(blob);
        let resp = client
            .post(format!("{base}/blobs/uploads/"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().as_u16() != 202 {
            return Err(format!("starting the upload of {digest}: HTTP {}", resp.status()));
        }
        let location = resp
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .ok_or("upload answer has no Location")?;
        let location = if location.starts_with("http") {
            location.to_owned()
        } else {
            format!("http://{addr}{location}")
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let resp = client
            .put(format!("{location}{sep}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .body(blob.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().as_u16() != 201 {
            return Err(format!("uploading {digest}: HTTP {}", resp.status()));
        }
    }
    let reference = artifact
        .tag
        .clone()
        .unwrap_or_else(|| artifact.digest().to_string());
    let resp = client
        .put(format!("{base}/manifests/{reference}"))
        .header("Content-Type", &artifact.manifest.media_type)
        .body(artifact.manifest.bytes.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let reported = resp
        .headers()
        .get("Docker-Content-Digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if status.as_u16() != 201 {
        let body = resp.text().await.unwrap_or_default();
        return Err(format!("putting manifest {reference}: HTTP {status}: {body}"));
    }
    let reported: Digest = reported
        .ok_or("manifest PUT answer has no Docker-Content-Digest")?
        .parse()
        .map_err(|e| format!("registry reported a bad digest: {e}"))?;
    if reported != artifact.digest() {
        return Err(format!(
            "registry stored {reported}, expected {}",
            artifact.digest()
        ));
    }
    Ok(reported)
}
