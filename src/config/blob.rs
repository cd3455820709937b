//! Where encrypted share content lives: the data directory (one box, or replicas sharing a
//! mount) or an S3-compatible object store named by `--blob-url s3://BUCKET/PREFIX` (replicas
//! with no shared disk). Parsed and validated here, once; opened by `crate::store`.
//!
//! Credentials are optional on purpose: left unset, the standard `AWS_*` variables (and the
//! providers the client reads from them) apply. The secret key is a [`Secret`], so neither
//! `config check` nor a `Debug` of the settings shows it.

use super::{ConfigError, Layer, Secret};

/// Where blobs live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobBackend {
    /// Files under `<data-dir>/blobs`.
    Files,
    S3(S3Settings),
}

impl BlobBackend {
    pub fn name(&self) -> &'static str {
        match self {
            BlobBackend::Files => "files",
            BlobBackend::S3(_) => "s3",
        }
    }
}

/// An S3-compatible bucket and how to reach it. `None` leaves a value to the `AWS_*` variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Object keys start with `<prefix>/` (empty: at the bucket's root).
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// `None`: path-style when an endpoint is named (MinIO, Garage), virtual-hosted otherwise.
    pub path_style: Option<bool>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

pub(super) fn resolve(layer: &Layer) -> Result<BlobBackend, ConfigError> {
    let Some(url) = layer.blob_url.as_deref().map(str::trim) else {
        return Ok(BlobBackend::Files);
    };
    let (bucket, prefix) = parse_s3_url(url)?;
    if let Some(endpoint) = &layer.s3_endpoint
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        return Err(ConfigError::Invalid(format!(
            "s3-endpoint must start with http:// or https:// (got {endpoint:?})"
        )));
    }
    Ok(BlobBackend::S3(S3Settings {
        bucket,
        prefix,
        endpoint: layer.s3_endpoint.clone(),
        region: layer.s3_region.clone(),
        path_style: layer.s3_path_style,
        access_key_id: layer.s3_access_key_id.clone(),
        secret_access_key: layer.s3_secret_access_key.clone(),
    }))
}

/// `s3://bucket` or `s3://bucket/some/prefix` → (bucket, prefix without slashes at its ends).
fn parse_s3_url(url: &str) -> Result<(String, String), ConfigError> {
    let invalid = |why: &str| {
        ConfigError::Invalid(format!(
            "blob-url must look like s3://BUCKET or s3://BUCKET/PREFIX ({why})"
        ))
    };
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| invalid("only s3:// is supported; leave it unset for files"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !bucket_ok {
        return Err(invalid("a bucket name is 3-63 of a-z, 0-9, '-' and '.'"));
    }
    let prefix = prefix.trim_matches('/');
    let prefix_ok = prefix.is_empty()
        || prefix.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    if !prefix_ok {
        return Err(invalid(
            "a prefix is /-separated parts of A-Z, a-z, 0-9, '-', '_' and '.'",
        ));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(url: &str) -> Layer {
        Layer {
            blob_url: Some(url.into()),
            s3_secret_access_key: Some(Secret::new("hunter2")),
            ..Layer::default()
        }
    }

    #[test]
    fn an_s3_url_names_the_bucket_and_the_prefix() {
        let BlobBackend::S3(s3) = resolve(&layer("s3://shares/prod/ots/")).unwrap() else {
            panic!("not s3")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("shares", "prod/ots")
        );
        let BlobBackend::S3(s3) = resolve(&layer("s3://shares")).unwrap() else {
            panic!("not s3")
        };
        assert_eq!(s3.prefix, "");
    }

    #[test]
    fn no_url_means_files() {
        assert_eq!(resolve(&Layer::default()).unwrap(), BlobBackend::Files);
    }

    #[test]
    fn bad_urls_are_refused_with_the_expected_form() {
        for url in [
            "file:///tmp",
            "s3://",
            "s3://UPPER",
            "s3://ok-bucket/../x",
            "s3://b/a b",
        ] {
            let err = resolve(&layer(url)).unwrap_err().to_string();
            assert!(err.contains("s3://BUCKET"), "{url}: {err}");
        }
    }

    #[test]
    fn the_secret_key_never_shows_in_debug() {
        let text = format!("{:?}", resolve(&layer("s3://shares")).unwrap());
        assert!(!text.contains("hunter2"), "{text}");
    }
}
