//! Untrusted text made safe to show: the one rule every surface applies to a stranger's words
//! before they reach a terminal, a log, the audit log or a header (share names, abuse-report
//! details, an operator's mistyped argument echoed back).
//!
//! It is an allow-list of Unicode general categories — letters, marks, numbers, punctuation,
//! symbols and the ASCII space — because every deny-list of "tricky" characters we kept was
//! missing some (U+061C, U+2028, tag characters, Hangul fillers, U+180E, …). On top of the
//! categories, characters that render as nothing although Unicode files them as letters or
//! symbols (the Default_Ignorable_Code_Point set, a blank braille cell, U+FFFD from a lossy
//! decode) are refused, a combining mark is kept only on a visible base character (a variation
//! selector or accent "used alone" is a hiding place, not a glyph), and a pile of marks on one
//! base is cut short. Other spaces become the ASCII space. It does not judge meaning (homoglyphs
//! stay): it guarantees that what is shown is what is there.

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Combining marks kept on one base character (Vietnamese and Indic text need two or three;
/// "Zalgo" text stacks dozens to spill over neighbouring lines).
const MAX_MARKS_PER_BASE: usize = 4;

/// What happens to a character that may not be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsafe {
    /// Left out (names: nothing invisible survives into them).
    Drop,
    /// Shown as this character instead (echoes: the reader sees that something was there).
    Replace(char),
}

/// `text` with only characters that show as themselves. See the module docs for the rule.
pub fn sanitize(text: &str, unsafe_chars: Unsafe) -> String {
    let mut out = String::with_capacity(text.len());
    // Marks kept on the current base; `None` while there is no visible base to attach to.
    let mut marks: Option<usize> = None;
    for ch in text.chars() {
        let kept = match class(ch) {
            Class::Base => {
                marks = Some(0);
                Some(ch)
            }
            Class::Space => {
                marks = None;
                Some(' ')
            }
            Class::Mark => match marks {
                Some(n) if n < MAX_MARKS_PER_BASE => {
                    marks = Some(n + 1);
                    Some(ch)
                }
                _ => None,
            },
            Class::Hidden => None,
        };
        match (kept, unsafe_chars) {
            (Some(ch), _) => out.push(ch),
            (None, Unsafe::Drop) => {}
            (None, Unsafe::Replace(with)) => {
                marks = None;
                out.push(with);
            }
        }
    }
    out
}

enum Class {
    Base,
    Mark,
    Space,
    Hidden,
}

fn class(ch: char) -> Class {
    if ch == ' ' {
        return Class::Space;
    }
    let ignorable = is_default_ignorable(ch);
    match ch.general_category_group() {
        GeneralCategoryGroup::Letter
        | GeneralCategoryGroup::Number
        | GeneralCategoryGroup::Punctuation
        | GeneralCategoryGroup::Symbol
            if !ignorable && !matches!(ch, '\u{2800}' | '\u{FFFD}') =>
        {
            Class::Base
        }
        GeneralCategoryGroup::Mark if !ignorable || is_variation_selector(ch) => Class::Mark,
        // Space separators (Zs) only; line and paragraph separators (Zl, Zp) break lines.
        GeneralCategoryGroup::Separator if !matches!(ch, '\u{2028}' | '\u{2029}') => Class::Space,
        _ => Class::Hidden,
    }
}

/// Unicode's Default_Ignorable_Code_Point: code points that render as nothing when a font has no
/// glyph for them. Some are letters (Hangul fillers) or marks, so categories alone miss them.
fn is_default_ignorable(ch: char) -> bool {
    matches!(ch,
        '\u{00AD}'
        | '\u{034F}'
        | '\u{061C}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Variation selectors choose a glyph for the character before them (text or emoji style): kept
/// after a visible base, refused alone.
fn is_variation_selector(ch: char) -> bool {
    matches!(ch, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dropped(text: &str) -> String {
        sanitize(text, Unsafe::Drop)
    }

    #[test]
    fn invisible_and_bidi_characters_are_dropped() {
        let hidden = [
            '\u{061C}',
            '\u{2028}',
            '\u{2029}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{00AD}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{180E}',
            '\u{200B}',
            '\u{202E}',
            '\u{2066}',
            '\u{FEFF}',
            '\u{2800}',
            '\u{FFFD}',
            '\u{0007}',
            '\u{001B}',
            '\u{0085}',
            '\u{E000}',
            '\u{034F}',
            '\u{D7FF}',
        ];
        for ch in hidden {
            assert_eq!(dropped(&format!("a{ch}b")), "ab", "U+{:04X}", ch as u32);
        }
    }

    #[test]
    fn variation_selectors_count_only_on_a_visible_base() {
        assert_eq!(dropped("\u{2764}\u{FE0F}"), "\u{2764}\u{FE0F}");
        assert_eq!(dropped("\u{FE0F}x"), "x");
        assert_eq!(dropped("a \u{FE0F}b"), "a b");
        assert_eq!(dropped("\u{0301}alone"), "alone");
    }

    #[test]
    fn real_text_survives() {
        for text in [
            "db.env",
            "Tiếng Việt",
            "résumé (final) v2.pdf",
            "日本語のファイル",
            "हिन्दी",
            "עברית.txt",
            "€ ± ✓ #1 50%",
        ] {
            assert_eq!(dropped(text), text);
        }
    }

    #[test]
    fn other_spaces_become_the_ascii_space_and_marks_pile_no_higher() {
        assert_eq!(dropped("a\u{00A0}b\u{3000}c"), "a b c");
        let zalgo = format!("z{}", "\u{0336}".repeat(40));
        assert_eq!(dropped(&zalgo).chars().count(), 1 + MAX_MARKS_PER_BASE);
    }

    #[test]
    fn replacing_shows_where_something_was() {
        assert_eq!(sanitize("a\x1b[2Jb", Unsafe::Replace('?')), "a?[2Jb");
        assert_eq!(sanitize("x\u{202E}y", Unsafe::Replace('?')), "x?y");
    }
}
