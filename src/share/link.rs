//! The link: the only thing that can open a share. Built once when a share is armed and handed
//! to the sender; parsed back from what a recipient pastes.

use zeroize::Zeroizing;

use super::ShareId;
use crate::crypto::ShareKey;

/// `<public-url>/s/<id>#<key>`. `Debug` shows only the handle and there is no `Display`: the
/// full text is reached through [`Link::expose`], at the few places that must print it.
#[derive(Clone)]
pub struct Link {
    base: String,
    id: ShareId,
    key: ShareKey,
}

impl Link {
    pub fn new(public_url: &str, id: ShareId, key: ShareKey) -> Self {
        Self {
            base: public_url.trim_end_matches('/').to_owned(),
            id,
            key,
        }
    }

    /// The full link text. Handle with care: never log it.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{}/s/{}#{}",
            self.base,
            self.id.as_str(),
            self.key.expose_base64().as_str()
        ))
    }

    pub fn id(&self) -> &ShareId {
        &self.id
    }

    pub fn key(&self) -> &ShareKey {
        &self.key
    }

    /// Parses any `…/s/<id>#<key>` text (the base is not checked: a link copied from another
    /// instance's public URL still names the same share).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (before, key) = text.split_once('#')?;
        let (base, id) = before.rsplit_once("/s/")?;
        Some(Self {
            base: base.to_owned(),
            id: ShareId::parse(id)?,
            key: ShareKey::from_base64(key).ok()?,
        })
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Link({})", self.id.handle())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip_and_never_debug_their_key() {
        let link = Link::new(
            "https://share.example/",
            ShareId::generate().unwrap(),
            ShareKey::generate().unwrap(),
        );
        let text = link.expose();
        assert!(text.starts_with("https://share.example/s/"));
        let parsed = Link::parse(&text).unwrap();
        assert_eq!(parsed.expose().as_str(), text.as_str());
        let debug = format!("{link:?}");
        assert!(!debug.contains(link.key().expose_base64().as_str()));
        assert!(!debug.contains(link.id().as_str()));
    }

    #[test]
    fn garbage_is_not_a_link() {
        for bad in ["", "https://x/s/abc#def", "no fragment/s/aaaaaaaaaaaaaaaa"] {
            assert!(Link::parse(bad).is_none(), "{bad:?}");
        }
    }
}
