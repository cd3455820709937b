//! Colour depth: what the client's terminal can show, and the theme's roles mapped to it.
//!
//! Over SSH only `TERM` arrives (plus `COLORTERM` if the client forwards it with `SendEnv`), so
//! truecolor is used only when one of them says so; otherwise the nearest xterm-256 colour, and
//! the 16 ANSI colours for `linux`/`vt100`-like consoles. `dumb` (or no TERM) gets no screen at
//! all ([`Depth::Plain`]). The view asks for roles through [`Styles`], never for hex values, so
//! one view renders at every depth.

use ratatui::style::Color;

use crate::theme::{Palette, Rgb};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    TrueColor,
    Ansi256,
    Ansi16,
    /// No cursor addressing: a line-mode message instead of a screen.
    Plain,
}

impl Depth {
    pub fn detect(term: &str, colorterm: Option<&str>) -> Depth {
        let term = term.trim().to_ascii_lowercase();
        if term.is_empty() || term == "dumb" {
            return Depth::Plain;
        }
        let colorterm = colorterm.map(|c| c.trim().to_ascii_lowercase());
        if matches!(colorterm.as_deref(), Some("truecolor" | "24bit"))
            || term.ends_with("-truecolor")
            || term.ends_with("-direct")
            || term.ends_with("-24bit")
        {
            return Depth::TrueColor;
        }
        if term.contains("256") {
            return Depth::Ansi256;
        }
        let base = term.split('-').next().unwrap_or("");
        if matches!(
            base,
            "linux" | "ansi" | "cons25" | "sun" | "screen" | "xterm-color"
        ) || base.starts_with("vt")
        {
            return Depth::Ansi16;
        }
        Depth::Ansi256
    }

    pub fn name(self) -> &'static str {
        match self {
            Depth::TrueColor => "truecolor",
            Depth::Ansi256 => "256",
            Depth::Ansi16 => "16",
            Depth::Plain => "plain",
        }
    }

    pub fn map(self, rgb: Rgb) -> Color {
        match self {
            Depth::TrueColor => Color::Rgb(rgb.0, rgb.1, rgb.2),
            Depth::Ansi256 => Color::Indexed(nearest_256(rgb)),
            Depth::Ansi16 => nearest_16(rgb),
            Depth::Plain => Color::Reset,
        }
    }
}

/// The theme's roles at one depth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Styles {
    pub depth: Depth,
    pub background: Color,
    pub surface: Color,
    pub border: Color,
    pub accent: Color,
    pub accent_strong: Color,
    pub text: Color,
    pub muted: Color,
    pub success: Color,
    pub danger: Color,
    pub warning: Color,
}

impl Styles {
    pub fn new(palette: &Palette, depth: Depth) -> Styles {
        let m = |rgb| depth.map(rgb);
        let mut styles = Styles {
            depth,
            background: m(palette.background),
            surface: m(palette.surface),
            border: m(palette.border),
            accent: m(palette.accent),
            accent_strong: m(palette.accent_strong),
            text: m(palette.text),
            muted: m(palette.muted),
            success: m(palette.success),
            danger: m(palette.danger),
            warning: m(palette.warning),
        };
        if depth == Depth::Ansi16 {
            // Dark greys all collapse to black in 16 colours: use the terminal's own background
            // and keep borders visible.
            styles.background = Color::Reset;
            styles.surface = Color::Reset;
            styles.border = Color::DarkGray;
        }
        styles
    }
}

const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn distance(a: Rgb, b: Rgb) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    d(a.0, b.0).pow(2) + d(a.1, b.1).pow(2) + d(a.2, b.2).pow(2)
}

/// The nearest of xterm's 6×6×6 cube and 24 greys (indices 16..=255).
pub fn nearest_256(rgb: Rgb) -> u8 {
    let level = |v: u8| {
        (0..6)
            .min_by_key(|&i| (i32::from(CUBE[i]) - i32::from(v)).unsigned_abs())
            .unwrap_or(0)
    };
    let (r, g, b) = (level(rgb.0), level(rgb.1), level(rgb.2));
    let cube = Rgb(CUBE[r], CUBE[g], CUBE[b]);
    let cube_index = 16 + 36 * r + 6 * g + b;
    let avg = (u32::from(rgb.0) + u32::from(rgb.1) + u32::from(rgb.2)) / 3;
    let gray_step = ((avg.saturating_sub(8) + 5) / 10).min(23) as u8;
    let gray_value = 8 + 10 * gray_step;
    let gray = Rgb(gray_value, gray_value, gray_value);
    if distance(rgb, gray) < distance(rgb, cube) {
        232 + gray_step
    } else {
        cube_index as u8
    }
}

/// The nearest of the 16 ANSI colours (xterm's default values).
pub fn nearest_16(rgb: Rgb) -> Color {
    const TABLE: [(Color, Rgb); 16] = [
        (Color::Black, Rgb(0, 0, 0)),
        (Color::Red, Rgb(205, 0, 0)),
        (Color::Green, Rgb(0, 205, 0)),
        (Color::Yellow, Rgb(205, 205, 0)),
        (Color::Blue, Rgb(0, 0, 238)),
        (Color::Magenta, Rgb(205, 0, 205)),
        (Color::Cyan, Rgb(0, 205, 205)),
        (Color::Gray, Rgb(229, 229, 229)),
        (Color::DarkGray, Rgb(127, 127, 127)),
        (Color::LightRed, Rgb(255, 0, 0)),
        (Color::LightGreen, Rgb(0, 255, 0)),
        (Color::LightYellow, Rgb(255, 255, 0)),
        (Color::LightBlue, Rgb(92, 92, 255)),
        (Color::LightMagenta, Rgb(255, 0, 255)),
        (Color::LightCyan, Rgb(0, 255, 255)),
        (Color::White, Rgb(255, 255, 255)),
    ];
    TABLE
        .iter()
        .min_by_key(|(_, c)| distance(rgb, *c))
        .map_or(Color::Reset, |(color, _)| *color)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::Theme;

    #[test]
    fn depth_follows_what_the_client_advertises() {
        assert_eq!(Depth::detect("xterm-256color", None), Depth::Ansi256);
        assert_eq!(
            Depth::detect("xterm-256color", Some("truecolor")),
            Depth::TrueColor
        );
        assert_eq!(Depth::detect("xterm-direct", None), Depth::TrueColor);
        assert_eq!(Depth::detect("tmux-256color", None), Depth::Ansi256);
        assert_eq!(Depth::detect("xterm-kitty", None), Depth::Ansi256);
        assert_eq!(Depth::detect("linux", None), Depth::Ansi16);
        assert_eq!(Depth::detect("vt100", None), Depth::Ansi16);
        assert_eq!(Depth::detect("screen", None), Depth::Ansi16);
        assert_eq!(Depth::detect("dumb", Some("truecolor")), Depth::Plain);
        assert_eq!(Depth::detect("", None), Depth::Plain);
    }

    #[test]
    fn the_palette_maps_to_the_nearest_256_and_16_colours() {
        let p = &Theme::industrial_urgency().colors;
        // #ff5f15 → cube (5,1,0) = 202, xterm's "orange red".
        assert_eq!(nearest_256(p.accent), 202);
        assert_eq!(nearest_256(p.background), 234);
        assert_eq!(nearest_256(Rgb(255, 255, 255)), 231);
        assert_eq!(nearest_16(p.accent), Color::LightRed);
        assert_eq!(nearest_16(p.danger), Color::Red);
        assert_eq!(nearest_16(p.warning), Color::Yellow);
        let styles = Styles::new(p, Depth::Ansi16);
        assert_eq!(styles.border, Color::DarkGray);
        assert_ne!(styles.accent, styles.danger, "orange and red stay apart");
        let true_styles = Styles::new(p, Depth::TrueColor);
        assert_eq!(true_styles.accent, Color::Rgb(0xff, 0x5f, 0x15));
    }
}
