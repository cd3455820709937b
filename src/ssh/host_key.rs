//! The server's SSH host key: an ed25519 key generated on first start and reused afterwards, so
//! clients' `known_hosts` entries stay valid across restarts. Replicas that must present one
//! identity either point `--ssh-host-key` at the same file or get the key itself from
//! `--ssh-host-key-data` (an environment value fed by a Kubernetes Secret), so a replica needs
//! no volume at all; a key given that way is never written anywhere. A new key file is written
//! with mode 0600 before any byte of the key reaches it, and only its SHA256 fingerprint is ever
//! logged (an error about a given key never quotes it).
//!
//! RSA host keys are refused at start-up. The `rsa` crate russh links (for RSA *client* keys,
//! which the server only verifies — public-key work) has a timing side channel in private-key
//! operations (RUSTSEC-2023-0071, no fixed release). The server does RSA private-key work only
//! when its own host key is RSA; refusing that keeps the advisory out of reach (deny.toml).

use std::io::Write as _;
use std::path::Path;

use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};

use super::SshError;

/// Where a key given as a value (not a file) is said to come from in errors.
const GIVEN_KEY: &str = "ssh-host-key-data";

/// Loads the key at `path`, or creates an ed25519 key there if no file exists.
pub fn load_or_create(path: &Path) -> Result<PrivateKey, SshError> {
    match std::fs::read(path) {
        Ok(bytes) => parse(&bytes, path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(err) => Err(SshError::HostKey {
            path: path.to_owned(),
            message: err.to_string(),
        }),
    }
}

/// The key given as text (`--ssh-host-key-data`): an OpenSSH private key, unencrypted.
pub fn from_text(text: &str) -> Result<PrivateKey, SshError> {
    // Environment values often lose their final newline or gain spaces; the PEM armour does not
    // care about either once trimmed and re-terminated.
    let text = zeroize::Zeroizing::new(format!("{}\n", text.trim()));
    parse(text.as_bytes(), Path::new(GIVEN_KEY))
}

/// An OpenSSH private key, refused if it is RSA. Errors name `origin`, never the key.
fn parse(bytes: &[u8], origin: &Path) -> Result<PrivateKey, SshError> {
    let key = PrivateKey::from_openssh(bytes).map_err(|e| SshError::HostKey {
        path: origin.to_owned(),
        message: e.to_string(),
    })?;
    if key.algorithm().is_rsa() {
        return Err(SshError::HostKey {
            path: origin.to_owned(),
            message: "RSA host keys are refused (RSA private-key operations in this \
                      build are open to a timing attack, RUSTSEC-2023-0071): use an \
                      ed25519 key, e.g. `ssh-keygen -t ed25519 -N '' -f FILE`"
                .into(),
        });
    }
    Ok(key)
}

fn create(path: &Path) -> Result<PrivateKey, SshError> {
    let fail = |message: String| SshError::HostKey {
        path: path.to_owned(),
        message,
    };
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| fail(e.to_string()))?;
    let keypair = Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::new(KeypairData::Ed25519(keypair), "onetimeshare host key")
        .map_err(|e| fail(e.to_string()))?;
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| fail(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| fail(e.to_string()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| fail(e.to_string()))?;
    Ok(key)
}

/// `SHA256:…`, as `ssh-keygen -lf` and OpenSSH's prompts print it.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key()
        .fingerprint(russh::keys::HashAlg::Sha256)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_private_to_its_owner_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/host_key");
        let first = load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = load_or_create(&path).unwrap();
        assert_eq!(fingerprint(&first), fingerprint(&second));
        assert!(fingerprint(&first).starts_with("SHA256:"));
    }

    #[test]
    fn an_rsa_host_key_is_refused_with_the_reason_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rsa_key");
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
            .arg(&path)
            .status()
            .expect("`ssh-keygen` is missing: apt-get install openssh-client");
        assert!(made.success());
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("RSA host keys are refused"), "{err}");
        assert!(err.contains("ssh-keygen -t ed25519"), "{err}");
    }

    #[test]
    fn a_key_given_as_text_is_the_key_of_the_file_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_key");
        let from_file = load_or_create(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // As an environment value often arrives: no final newline, stray spaces.
        let given = from_text(&format!("  {}  ", text.trim_end())).unwrap();
        assert_eq!(fingerprint(&given), fingerprint(&from_file));
    }

    #[test]
    fn a_bad_key_given_as_text_is_refused_without_quoting_it() {
        let err = from_text("not-a-key-hunter2").unwrap_err().to_string();
        assert!(err.contains(GIVEN_KEY), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn a_corrupt_key_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "not a key").unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("key"), "{err}");
    }
}
