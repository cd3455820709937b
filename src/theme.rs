//! The colour palette shared by the web pages and the SSH TUI, read from
//! `themes/industrial-urgency.toml` (compiled in, so the binary needs no theme file at run time).
//!
//! It owns one invariant: every role of docs/properties.md §12 has a valid `#rrggbb` colour, or
//! the theme does not load. Renderers ask for roles by name through [`Palette`], never for hex
//! literals of their own, so the web and the terminal cannot drift apart.

use std::sync::LazyLock;

use serde::Deserialize;

const INDUSTRIAL_URGENCY: &str = include_str!("../themes/industrial-urgency.toml");

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Parses `#rrggbb` (case-insensitive).
    pub fn parse(text: &str) -> Option<Rgb> {
        let hex = text.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb(channel(0)?, channel(2)?, channel(4)?))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Rgb::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a #rrggbb colour")))
    }
}

/// One colour per role.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Palette {
    pub background: Rgb,
    pub surface: Rgb,
    pub border: Rgb,
    /// Unfocused panel borders in the terminal, where `border` on `surface` is invisible.
    pub outline: Rgb,
    pub accent: Rgb,
    pub accent_strong: Rgb,
    pub text: Rgb,
    pub muted: Rgb,
    pub success: Rgb,
    pub danger: Rgb,
    pub warning: Rgb,
}

impl Palette {
    /// Every role with its kebab-case name, in the order of the brief's table.
    pub fn roles(&self) -> [(&'static str, Rgb); 11] {
        [
            ("background", self.background),
            ("surface", self.surface),
            ("border", self.border),
            ("outline", self.outline),
            ("accent", self.accent),
            ("accent-strong", self.accent_strong),
            ("text", self.text),
            ("muted", self.muted),
            ("success", self.success),
            ("danger", self.danger),
            ("warning", self.warning),
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub name: String,
    pub colors: Palette,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid theme: {0}")]
pub struct ThemeError(String);

impl Theme {
    pub fn parse(toml_text: &str) -> Result<Theme, ThemeError> {
        toml::from_str(toml_text).map_err(|e| ThemeError(e.to_string()))
    }

    /// The bundled Industrial Urgency theme (a unit test proves it parses).
    pub fn industrial_urgency() -> &'static Theme {
        static THEME: LazyLock<Theme> = LazyLock::new(|| {
            Theme::parse(INDUSTRIAL_URGENCY).expect("the bundled theme is valid (unit-tested)")
        });
        &THEME
    }

    /// `:root{--background:#1a1a1a;…}` for the web pages.
    pub fn css_variables(&self) -> String {
        let mut css = String::from(":root{");
        for (role, rgb) in self.colors.roles() {
            css.push_str(&format!("--{role}:{};", rgb.hex()));
        }
        css.push('}');
        css
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_theme_has_the_briefs_palette() {
        let theme = Theme::parse(INDUSTRIAL_URGENCY).unwrap();
        assert_eq!(theme.colors.accent, Rgb(0xff, 0x5f, 0x15));
        assert_eq!(theme.colors.background.hex(), "#1a1a1a");
        assert_eq!(theme.colors.accent_strong.hex(), "#e54d00");
        assert_eq!(theme.colors.warning.hex(), "#f59e0b");
        let css = theme.css_variables();
        assert!(css.contains("--accent-strong:#e54d00;"), "{css}");
    }

    #[test]
    fn missing_roles_and_bad_colours_are_refused() {
        assert!(Theme::parse("name = \"x\"\n[colors]\naccent = \"#ff5f15\"").is_err());
        let bad = INDUSTRIAL_URGENCY.replace("#ff5f15", "orange");
        assert!(Theme::parse(&bad).is_err());
        assert_eq!(Rgb::parse("#12345"), None);
        assert_eq!(Rgb::parse("#ABCDEF"), Some(Rgb(0xab, 0xcd, 0xef)));
    }
}
