//! A claimed share's content on its way out: sealed bytes read ahead from the blob (or taken
//! from the record, for a small share), one chunk at a time into a buffer of its own, opened
//! where they lie and handed on as plaintext pieces that share that buffer's memory. After the
//! blob's read-ahead (1 MiB per blocking-pool hop) a byte is copied once, into the chunk's
//! buffer; the pieces go to the socket as they are.
//!
//! Memory per claim is bounded: the blob reader's buffer (up to [`READ_AHEAD_BYTES`]) and a
//! chunk or two of sealed bytes, whatever the share's size.

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;

use super::{BlobReader, BlobStore, ShareError, ShareRecord};
use crate::crypto::{CryptoError, Header, StreamOpener, TAG_SIZE};

/// Largest read per blocking-pool hop of a file reader (bounded memory per download).
const READ_AHEAD_BYTES: usize = 1024 * 1024;

/// Smallest buffer a read is given, even when the record says fewer bytes are left (so a blob
/// longer than its record still reads in sensible steps).
const READ_FLOOR: usize = 4096;

/// A share's sealed bytes, header first, as they are read.
pub(super) struct SealedContent {
    /// The blob; `None` for inline content (all of it already in `buf`) or once it has ended.
    reader: Option<BlobReader>,
    /// Read, not yet opened.
    buf: BytesMut,
    /// Bytes the record says are left to read: sizes the reads (a hint only; the reader's end,
    /// not this count, decides where the content ends).
    unread: u64,
    /// One sealed chunk, once the header has told its size: what a read should bring.
    chunk: usize,
}

impl SealedContent {
    /// Opens the blob `record` names and reads its header.
    pub(super) async fn blob(
        blobs: &dyn BlobStore,
        record: &ShareRecord,
    ) -> Result<(Self, Header), ShareError> {
        let reader = blobs.open(&record.blob).await?;
        // File readers hop to a blocking thread per read: read up to 1 MiB per hop, not a chunk.
        let capacity = record.stored_size.clamp(4096, READ_AHEAD_BYTES as u64) as usize;
        let reader = tokio::io::BufReader::with_capacity(capacity, reader);
        Self::from_reader(Box::new(reader), record.stored_size)
            .header()
            .await
    }

    /// A small share's content, straight from its record.
    pub(super) fn inline(bytes: &[u8]) -> Result<(Self, Header), ShareError> {
        let mut content = Self {
            reader: None,
            buf: BytesMut::from(bytes),
            unread: 0,
            chunk: READ_FLOOR,
        };
        let header = content.split_header()?.ok_or_else(malformed)?;
        Ok((content, header))
    }

    fn from_reader(reader: BlobReader, stored_size: u64) -> Self {
        Self {
            reader: Some(reader),
            buf: BytesMut::new(),
            unread: stored_size,
            chunk: READ_FLOOR,
        }
    }

    /// The plaintext, opened with `opener` (made from this content's header).
    pub(super) fn open(self, opener: StreamOpener) -> Plaintext {
        Plaintext {
            sealed: self,
            opener: Some(opener),
        }
    }

    fn ended(&self) -> bool {
        self.reader.is_none()
    }

    /// Reads until the header is whole and takes it off the front.
    async fn header(mut self) -> Result<(Self, Header), ShareError> {
        loop {
            if let Some(header) = self.split_header()? {
                return Ok((self, header));
            }
            if self.ended() {
                return Err(malformed());
            }
            self.fill().await?;
        }
    }

    /// The header off the front, once the buffer holds all of it.
    fn split_header(&mut self) -> Result<Option<Header>, ShareError> {
        let Some(prefix) = self.buf.get(..Header::PREFIX_LEN) else {
            return Ok(None);
        };
        let len = Header::encoded_len(prefix)?;
        if self.buf.len() < len {
            return Ok(None);
        }
        let header = Header::parse(&self.buf.split_to(len))?;
        self.chunk = header.chunk_size() + TAG_SIZE;
        Ok(Some(header))
    }

    /// Reads the next piece into the buffer, or notes that the reader has ended.
    async fn fill(&mut self) -> Result<(), ShareError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        let spare = self.buf.capacity() - self.buf.len();
        if spare < self.unread.saturating_add(1).min(self.chunk as u64) as usize {
            // A fresh buffer (the last one's memory still backs pieces handed on), for a chunk
            // and the byte after it: the one that tells the chunk is not the last. What waits
            // (a byte, once aligned) moves along.
            let ahead =
                (self.unread.saturating_add(1).min(self.chunk as u64) as usize).max(READ_FLOOR);
            let mut capacity = self.buf.len() + ahead;
            if ahead >= self.chunk {
                capacity = capacity / self.chunk * self.chunk + 1;
            }
            let mut fresh = BytesMut::with_capacity(capacity);
            fresh.extend_from_slice(&self.buf);
            self.buf = fresh;
        }
        let read = reader
            .read_buf(&mut self.buf)
            .await
            .map_err(|err| ShareError::Storage(err.into()))?;
        if read == 0 {
            self.reader = None;
        }
        self.unread = self.unread.saturating_sub(read as u64);
        Ok(())
    }
}

fn malformed() -> ShareError {
    ShareError::Corrupt(CryptoError::MalformedHeader)
}

/// A piece of plaintext, and whether the content ends with it.
pub(super) enum Piece {
    More(Bytes),
    /// The whole content has been authenticated; may be empty.
    Last(Bytes),
}

/// Sealed content being opened, piece by piece.
pub(super) struct Plaintext {
    sealed: SealedContent,
    opener: Option<StreamOpener>,
}

impl Plaintext {
    /// The next piece; `None` after the last one or after an error (the content failed
    /// authentication or could not be read, and is not read any further).
    pub(super) async fn next(&mut self) -> Option<Result<Piece, ShareError>> {
        loop {
            let opener = self.opener.as_mut()?;
            match opener.open_next(&mut self.sealed.buf) {
                Ok(Some(plain)) => return Some(Ok(Piece::More(plain))),
                Ok(None) => {}
                Err(err) => {
                    self.opener = None;
                    return Some(Err(ShareError::Corrupt(err)));
                }
            }
            if self.sealed.ended() {
                let opener = self.opener.take()?;
                let rest = std::mem::take(&mut self.sealed.buf);
                return Some(
                    opener
                        .open_last(rest)
                        .map(Piece::Last)
                        .map_err(ShareError::Corrupt),
                );
            }
            if let Err(err) = self.sealed.fill().await {
                self.opener = None;
                return Some(Err(err));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, ReadBuf};

    use super::*;
    use crate::crypto::{ShareKey, StreamSealer, derive_content_keys};

    /// Hands out at most `step` bytes per read, as a slow or chunked store would.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = self
                .step
                .min(buf.remaining())
                .min(self.data.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.data[at..at + n]);
            self.at += n;
            Poll::Ready(Ok(()))
        }
    }

    struct Sealed {
        key: ShareKey,
        stored: Vec<u8>,
    }

    fn seal(plain: &[u8], chunk_log2: u8) -> Sealed {
        let key = ShareKey::generate().unwrap();
        let header = Header::new(&key, None, chunk_log2).unwrap();
        let keys = derive_content_keys(&key, None, header.as_bytes());
        let mut sealer = StreamSealer::new(&keys, &header, header.as_bytes().to_vec()).unwrap();
        assert_eq!(sealer.push(plain, usize::MAX).unwrap(), plain.len());
        Sealed {
            key,
            stored: sealer.finish().unwrap(),
        }
    }

    /// Reads `stored` the way a claim does; returns the plaintext pieces and how the last ended.
    async fn read(
        sealed: &Sealed,
        stored: Vec<u8>,
        step: usize,
        record_says: u64,
    ) -> (Vec<Bytes>, Result<(), ShareError>) {
        let reader = Trickle {
            data: stored,
            at: 0,
            step,
        };
        let (content, header) = SealedContent::from_reader(Box::new(reader), record_says)
            .header()
            .await
            .unwrap();
        let keys = header.unlock(&sealed.key, None).unwrap();
        let mut plaintext = content.open(StreamOpener::new(&keys, &header).unwrap());
        let mut pieces = Vec::new();
        loop {
            match plaintext.next().await {
                Some(Ok(Piece::More(plain))) => pieces.push(plain),
                Some(Ok(Piece::Last(plain))) => {
                    pieces.push(plain);
                    assert!(
                        plaintext.next().await.is_none(),
                        "nothing after the last piece"
                    );
                    return (pieces, Ok(()));
                }
                Some(Err(err)) => {
                    assert!(plaintext.next().await.is_none(), "nothing after an error");
                    return (pieces, Err(err));
                }
                None => panic!("ended without a last piece or an error"),
            }
        }
    }

    /// Whatever the reads bring and whatever size the record claims, the plaintext comes out
    /// whole, one piece per chunk.
    #[tokio::test]
    async fn content_comes_out_whole_however_it_is_read_and_whatever_the_record_says() {
        const LOG2: u8 = 10;
        const CHUNK: usize = 1 << LOG2;
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 7 * CHUNK + 13] {
            let plain: Vec<u8> = (0..size).map(|i| (i * 13 % 251) as u8).collect();
            let sealed = seal(&plain, LOG2);
            let stored = sealed.stored.len() as u64;
            for step in [1, 7, CHUNK, CHUNK + TAG_SIZE + 1, 1 << 20] {
                for record_says in [stored, 0, stored / 2, stored * 3] {
                    let (pieces, end) =
                        read(&sealed, sealed.stored.clone(), step, record_says).await;
                    assert!(end.is_ok(), "size {size} step {step} record {record_says}");
                    assert_eq!(pieces.concat(), plain, "size {size} step {step}");
                    assert!(pieces.iter().all(|p| p.len() <= CHUNK));
                    assert_eq!(pieces.len(), size.div_ceil(CHUNK).max(1), "size {size}");
                }
            }
        }
    }

    /// A blob cut short at a chunk boundary, cut mid-chunk, or with bytes appended: an error,
    /// after only the pieces that authenticated.
    #[tokio::test]
    async fn damaged_content_ends_in_an_error_never_in_a_last_piece() {
        const LOG2: u8 = 10;
        let sealed_chunk = (1 << LOG2) + TAG_SIZE;
        let plain = vec![7u8; 3 * (1 << LOG2) + 100];
        let sealed = seal(&plain, LOG2);
        let header_len = sealed.stored.len() - (plain.len() + 4 * TAG_SIZE);
        let at_boundary = sealed.stored[..header_len + 2 * sealed_chunk].to_vec();
        let mid_chunk = sealed.stored[..sealed.stored.len() - 1].to_vec();
        let mut appended = sealed.stored.clone();
        appended.extend_from_slice(&[0; 5]);
        for (what, stored) in [
            ("cut at a chunk boundary", at_boundary),
            ("cut mid-chunk", mid_chunk),
            ("bytes appended", appended),
        ] {
            for step in [3, 1 << 20] {
                let (pieces, end) = read(&sealed, stored.clone(), step, stored.len() as u64).await;
                assert!(
                    matches!(end, Err(ShareError::Corrupt(_))),
                    "{what}: {:?}",
                    end.err()
                );
                let delivered = pieces.concat();
                assert!(delivered.len() < plain.len(), "{what}");
                assert_eq!(delivered, plain[..delivered.len()], "{what}");
            }
        }
    }

    #[tokio::test]
    async fn a_short_header_is_malformed() {
        let sealed = seal(b"x", 10);
        for cut in [0, 3, Header::PREFIX_LEN, Header::PREFIX_LEN + 1] {
            let reader = Trickle {
                data: sealed.stored[..cut].to_vec(),
                at: 0,
                step: 2,
            };
            let read = SealedContent::from_reader(Box::new(reader), 100)
                .header()
                .await;
            assert!(
                matches!(read, Err(ShareError::Corrupt(CryptoError::MalformedHeader))),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            SealedContent::inline(&sealed.stored[..5]),
            Err(ShareError::Corrupt(CryptoError::MalformedHeader))
        ));
    }
}
