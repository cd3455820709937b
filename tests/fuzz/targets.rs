//! The body of every fuzz target, one function per parser that reads a client's bytes. The
//! libFuzzer binaries in `fuzz_targets/` and the ordinary integration test `tests/e2e/fuzz_replay.rs`
//! both include this file, so the committed corpora (`corpus/<target>/`) are replayed by every
//! `cargo nextest` run, without a fuzzer, against the same code the fuzzer explored.
//!
//! Each function must never panic on any input; beyond that, each asserts what must hold of
//! its parser (a sans-IO parser decodes split input like whole input, a mutated blob never
//! decrypts, a link key never reaches text that is echoed, …). A failed assertion is a finding.

use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use onetimeshare::config::{
    format_duration, format_size, parse_duration, parse_size, redact_url_credentials,
};
use onetimeshare::crypto::{
    ContentKeys, Header, KdfParams, Kind, Password, PasswordKey, SealedMeta, ShareKey, ShareMeta,
    StreamOpener, StreamSealer,
};
use onetimeshare::operator::{BanTarget, printable_target};
use onetimeshare::safe_text::{Unsafe, sanitize};
use onetimeshare::share::{MAX_NAME_BYTES, ShareName, ShareRef, without_link_key};
use onetimeshare::ssh::command::Command;
use onetimeshare::ssh::scp::{ScpError, ScpEvent, ScpReader};
use onetimeshare::tui::input::{Input, InputParser};

/// Splits `data` into pieces whose lengths come from `seed` (1..=16 bytes, then the rest): the
/// same input arriving over several SSH packets.
fn pieces(seed: u8, data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut state = seed;
    while !rest.is_empty() {
        state = state.wrapping_mul(37).wrapping_add(11);
        let take = usize::from(state % 16 + 1).min(rest.len());
        out.push(&rest[..take]);
        rest = &rest[take..];
    }
    out
}

/// What a displayed name may contain: nothing `safe_text` would remove, no path separator.
fn assert_clean_name(name: &ShareName) {
    let text = name.as_str();
    assert!(!text.is_empty() && text != "." && text != "..", "{text:?}");
    assert!(text.len() <= MAX_NAME_BYTES, "{text:?}");
    assert!(!text.contains(['/', '\\']), "{text:?}");
    assert_eq!(
        sanitize(text, Unsafe::Drop),
        text,
        "a name still holds hidden characters"
    );
}

// ---------------------------------------------------------------------------------------------
// scp -t headers (src/ssh/scp.rs)

/// Events with consecutive `Data` merged, so whole and split input compare equal.
fn scp_events(chunks: &[&[u8]]) -> (Vec<ScpEvent>, Option<ScpError>) {
    let mut reader = ScpReader::new();
    let mut events: Vec<ScpEvent> = Vec::new();
    for chunk in chunks {
        reader.feed(Bytes::copy_from_slice(chunk));
        loop {
            match reader.next_event() {
                Ok(Some(ScpEvent::Data(data))) => match events.last_mut() {
                    Some(ScpEvent::Data(previous)) => {
                        let mut joined = BytesMut::from(&previous[..]);
                        joined.extend_from_slice(&data);
                        *previous = joined.freeze();
                    }
                    _ => events.push(ScpEvent::Data(data)),
                },
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(err) => return (events, Some(err)),
            }
        }
    }
    (events, None)
}

pub fn scp_headers(data: &[u8]) {
    let Some((&seed, data)) = data.split_first() else {
        return;
    };
    let whole = scp_events(&[data]);
    let split = scp_events(&pieces(seed, data));
    assert_eq!(whole, split, "split input decodes differently");
    let mut announced = None;
    for event in &whole.0 {
        match event {
            ScpEvent::File { size, name, .. } => {
                announced = Some(*size);
                if let Ok(name) = ShareName::sanitize(name) {
                    assert_clean_name(&name);
                }
            }
            ScpEvent::Data(bytes) => {
                let size = announced.expect("data outside a file");
                assert!(
                    bytes.len() as u64 <= size,
                    "more data than the header announced"
                );
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The terminal input parser (src/tui/input.rs)

const PASTE_LIMIT: usize = 64;

fn tui_inputs(chunks: &[&[u8]], timeouts: bool) -> Vec<Input> {
    let mut parser = InputParser::new(PASTE_LIMIT);
    let mut out = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut out);
        if timeouts && parser.is_waiting() {
            parser.on_timeout(&mut out);
        }
    }
    out
}

pub fn tui_input(data: &[u8]) {
    let Some((&seed, data)) = data.split_first() else {
        return;
    };
    let whole = tui_inputs(&[data], false);
    let split = tui_inputs(&pieces(seed, data), false);
    assert_eq!(whole, split, "split input decodes differently");
    for input in whole.iter().chain(&tui_inputs(&pieces(seed, data), true)) {
        if let Input::Paste(text) = input {
            assert!(text.len() <= PASTE_LIMIT, "a paste over the limit was kept");
            assert!(!text.contains('\r'), "line endings are not normalised");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// exec command lines (src/ssh/command.rs)

pub fn exec_command(data: &[u8]) {
    match Command::parse(data) {
        Ok(Command::Upload(options)) => {
            if let Some(name) = &options.name {
                assert_clean_name(name);
            }
        }
        Ok(_) => {}
        Err(err) => {
            // The message goes to the client's terminal verbatim.
            let text = err.to_string();
            assert!(
                !text.chars().any(char::is_control),
                "an error echoes a control character: {text:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SFTP packets (what src/ssh/sftp/ receives: its framing, then russh-sftp's decoding)

pub fn sftp_packets(data: &[u8]) {
    use onetimeshare::ssh::SftpFrame;
    use russh_sftp::protocol::{Packet, StatusCode};
    // Two feeds split at a point taken from the input, so frames that span feeds are covered.
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let mut framer = onetimeshare::ssh::SftpFramer::default();
    let mut in_write = false;
    for piece in [&data[..split], &data[split..]] {
        framer.feed(bytes::Bytes::copy_from_slice(piece));
        loop {
            let reply = match framer.next_frame() {
                Ok(None) => break,
                Err(_) => return,
                Ok(Some(SftpFrame::Request(Some(Packet::Open(open))))) => {
                    assert!(!in_write, "a request inside a write's data");
                    if let Ok(name) = ShareName::sanitize(open.filename.as_bytes()) {
                        assert_clean_name(&name);
                    }
                    Packet::error(open.id, StatusCode::Failure)
                }
                Ok(Some(SftpFrame::Request(Some(other)))) => {
                    assert!(!in_write, "a request inside a write's data");
                    Packet::error(other.get_request_id(), StatusCode::Failure)
                }
                Ok(Some(SftpFrame::Request(None))) => Packet::error(0, StatusCode::BadMessage),
                Ok(Some(SftpFrame::Write(header))) => {
                    assert!(!in_write, "a write inside a write's data");
                    in_write = true;
                    Packet::error(header.id, StatusCode::Ok)
                }
                Ok(Some(SftpFrame::Data(data))) => {
                    assert!(in_write && !data.is_empty(), "stray write data");
                    continue;
                }
                Ok(Some(SftpFrame::WriteEnd)) => {
                    assert!(in_write, "a write ended twice");
                    in_write = false;
                    continue;
                }
            };
            // Every request is answered, so the answer must always encode.
            assert!(bytes::Bytes::try_from(reply).is_ok());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The blob header and stream decoder (src/crypto/)

/// A valid blob, made once per process: its key, the password key if bound, the bytes, the
/// plaintext it decrypts to, and a sealed metadata record under the same keys.
struct Blob {
    key: ShareKey,
    password: Option<PasswordKey>,
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
    sealed_meta: Vec<u8>,
}

fn blob(with_password: bool) -> &'static Blob {
    static PLAIN: OnceLock<Blob> = OnceLock::new();
    static BOUND: OnceLock<Blob> = OnceLock::new();
    let cell = if with_password { &BOUND } else { &PLAIN };
    cell.get_or_init(|| {
        let key = ShareKey::generate().expect("rng");
        // Small Argon2 and 1 KiB chunks: cheap to open, and several chunks in a short blob.
        let password = with_password.then(|| {
            let params = KdfParams::generate(8, 1, 1).expect("rng");
            let pk = PasswordKey::derive_blocking(&Password::new("pw"), &params).expect("kdf");
            (params, pk)
        });
        let header = Header::new(&key, password.as_ref().map(|(p, k)| (p, k)), 10).expect("header");
        let pk = password.map(|(_, pk)| pk);
        let keys = header.unlock(&key, pk.as_ref()).expect("unlock");
        let plaintext: Vec<u8> = (0..3500u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut sealer =
            StreamSealer::new(&keys, &header, header.as_bytes().to_vec()).expect("sealer");
        assert_eq!(
            sealer.push(&plaintext, usize::MAX).expect("seal"),
            plaintext.len()
        );
        let bytes = sealer.finish().expect("seal");
        let meta = ShareMeta {
            kind: Kind::File,
            name: Some("a.env".into()),
            content_type: None,
            size: plaintext.len() as u64,
        };
        let sealed_meta = meta.seal(&keys).expect("meta").0;
        Blob {
            key,
            password: pk,
            bytes,
            plaintext,
            sealed_meta,
        }
    })
}

/// Reads a blob the way a claim does: header prefix, full header, unlock, then the stream in
/// pieces of `piece` bytes.
fn open_blob(blob: &Blob, bytes: &[u8], piece: usize) -> Result<(Vec<u8>, ContentKeys), String> {
    let len = Header::encoded_len(bytes).map_err(|e| e.to_string())?;
    let header_bytes = bytes.get(..len).ok_or("short header")?;
    let header = Header::parse(header_bytes).map_err(|e| e.to_string())?;
    let keys = header
        .unlock(&blob.key, blob.password.as_ref())
        .map_err(|e| e.to_string())?;
    let out = StreamOpener::new(&keys, &header)
        .and_then(|opener| opener.open_pieces(bytes[len..].chunks(piece.max(1))))
        .map_err(|e| e.to_string())?;
    Ok((out, keys))
}

/// Applies edits read from `ops` (4 bytes each: op, offset high, offset low, value).
fn mutate(original: &[u8], ops: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for op in ops.chunks_exact(4) {
        let at = usize::from(u16::from_be_bytes([op[1], op[2]]));
        let value = op[3];
        match op[0] % 6 {
            0 if at < bytes.len() => bytes[at] ^= value,
            1 => bytes.truncate(at),
            2 if at <= bytes.len() => bytes.insert(at, value),
            3 if at < bytes.len() => {
                bytes.remove(at);
            }
            4 => bytes.extend(std::iter::repeat_n(value, usize::from(op[2]))),
            5 => {
                // Swap two 1 KiB + tag regions: reordered chunks.
                let size = 1024 + 16;
                let (a, b) = (usize::from(op[1] % 4), usize::from(value % 4));
                let start = |i: usize| 47 + i * size;
                if a != b && start(a.max(b)) + size <= bytes.len() {
                    for i in 0..size {
                        bytes.swap(start(a) + i, start(b) + i);
                    }
                }
            }
            _ => {}
        }
    }
    bytes
}

pub fn blob_decoder(data: &[u8]) {
    let Some((&choice, ops)) = data.split_first() else {
        return;
    };
    let blob = blob(choice & 1 == 1);
    let piece = usize::from(choice >> 1) * 37 + 1;
    if choice & 0x80 != 0 {
        // The sealed metadata record: any change must fail to open.
        let mutated = mutate(&blob.sealed_meta, ops);
        let Ok((_, keys)) = open_blob(blob, &blob.bytes, piece) else {
            panic!("the valid blob does not open");
        };
        let opened = SealedMeta(mutated.clone()).open(&keys);
        if mutated == blob.sealed_meta {
            assert!(opened.is_ok(), "the valid metadata does not open");
        } else {
            assert!(opened.is_err(), "mutated metadata opened");
        }
        return;
    }
    let mutated = mutate(&blob.bytes, ops);
    match open_blob(blob, &mutated, piece) {
        Ok((plaintext, _)) => {
            assert!(
                mutated == blob.bytes,
                "a mutated blob decrypted (to {} the original plaintext)",
                if plaintext == blob.plaintext {
                    "exactly"
                } else {
                    "NOT"
                }
            );
            assert_eq!(plaintext, blob.plaintext, "the valid blob decrypts wrongly");
        }
        Err(_) => assert!(mutated != blob.bytes, "the valid blob does not open"),
    }
}

// ---------------------------------------------------------------------------------------------
// The claim form (src/http/claim.rs)

pub fn claim_form(data: &[u8]) {
    // Decoding must not panic; a key that comes out must be a key that parses back.
    if let Ok((key, _password)) = onetimeshare::http::claim_credentials(data) {
        let again = ShareKey::from_base64(key.expose_base64().as_str());
        assert!(again.is_ok_and(|k| k.verifier().matches(&key)));
    }
}

// ---------------------------------------------------------------------------------------------
// Ban targets and link forms (src/operator/ban.rs, src/share/link.rs, src/share/pasted.rs)

/// Stands in for a link key in the text: it must never come back out.
const KEY: &str = "QkVZa2V5S0VZa2V5S0VZa2V5S0VZa2V5S0VZa2V5SQ";
const SEPARATORS: [&str; 6] = ["#", "%23", "%2523", "*", "-23", "%2523%23"];

pub fn link_forms(data: &[u8]) {
    let Some((&choice, data)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    // Plain text: every parser copes, and a ban target round-trips through its own text.
    let _ = ShareRef::parse(&text);
    let _ = onetimeshare::share::Link::parse(&text);
    if let Ok(target) = BanTarget::parse(&text) {
        assert_eq!(BanTarget::parse(&target.to_string()), Ok(target));
    }
    // The same text with a key after a separator, in any pasted form: the key never shows.
    let middle = (0..=text.len() / 2)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let (prefix, suffix) = text.split_at(middle);
    let separator = SEPARATORS[usize::from(choice) % SEPARATORS.len()];
    let pasted = format!("{prefix}{separator}{KEY}{suffix}");
    if !prefix.contains(&KEY[..16]) {
        for shown in [
            without_link_key(&pasted),
            printable_target(&pasted),
            BanTarget::parse(&pasted)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        ] {
            assert!(!shown.contains(&KEY[..16]), "a key is echoed: {shown:?}");
        }
    }
    if let Some(ShareRef::Handle(handle)) = ShareRef::parse(&pasted) {
        assert!(!handle.contains(&KEY[..16].to_ascii_lowercase()));
    }
}

// ---------------------------------------------------------------------------------------------
// Setting values (src/config/units.rs, src/config/secret.rs)

pub fn config_values(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(duration) = parse_duration(&text)
        && !duration.is_zero()
    {
        assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
    }
    if let Ok(size) = parse_size(&text) {
        assert_eq!(parse_size(&size.to_string()), Ok(size));
        let _ = format_size(size);
    }
    // A password in the query is never shown, whatever precedes it.
    let url = format!("{text}?pass=hunter2-sentinel&db=0");
    if !text.contains("hunter2-sentinel") {
        let shown = redact_url_credentials(&url);
        assert!(!shown.contains("hunter2-sentinel"), "{shown}");
    }
}
