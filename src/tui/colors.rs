//! Colour depth: what the client's terminal can show, and the theme's roles mapped to it.
//!
//! Over SSH only `TERM` arrives (plus `COLORTERM` if the client forwards it with `SendEnv`), so
//! truecolor is used only when one of them says so; otherwise the nearest xterm-256 colour, and
//! the 16 ANSI colours for `linux`/`vt100`-like consoles. `dumb` (or no TERM) gets no screen at
//! all ([`Depth::Plain`]). The view asks for roles through [`Styles`], never for hex values, so
//! one view renders at every depth.

use ratatui::style::{Color, Modifier, Style};

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
    pub outline: Color,
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
            outline: m(palette.outline),
            accent: m(palette.accent),
            accent_strong: m(palette.accent_strong),
            text: m(palette.text),
            muted: m(palette.muted),
            success: m(palette.success),
            danger: m(palette.danger),
            warning: m(palette.warning),
        };
        if depth == Depth::Ansi16 {
            // Sixteen colours say nothing about the terminal's background, which may be light
            // (TERM=linux, vt100 and screen are used on white too): text and backgrounds are the
            // terminal's own, greys are the one grey visible on both, and the four signal
            // colours are four different hues — there is no orange, and red next to bright red
            // reads as one colour, so the accent takes red and danger magenta.
            styles.background = Color::Reset;
            styles.surface = Color::Reset;
            styles.text = Color::Reset;
            styles.border = Color::DarkGray;
            styles.outline = Color::DarkGray;
            styles.muted = Color::DarkGray;
            styles.accent = Color::Red;
            styles.accent_strong = Color::Red;
            styles.danger = Color::Magenta;
            styles.success = Color::Green;
            styles.warning = Color::Yellow;
        }
        styles
    }

    /// The screen: body text on the background.
    pub fn base(&self) -> Style {
        Style::new().fg(self.text).bg(self.background)
    }

    /// Cards, panels and the header and footer bars.
    pub fn panel(&self) -> Style {
        Style::new().fg(self.text).bg(self.surface)
    }

    /// Plain body text (inherits the background it is drawn on).
    pub fn body(&self) -> Style {
        Style::new().fg(self.text)
    }

    /// UPPERCASE field labels and table headings.
    pub fn label(&self) -> Style {
        Style::new().fg(self.muted).add_modifier(Modifier::BOLD)
    }

    /// Secondary text: hints, help, the footer's words.
    pub fn muted(&self) -> Style {
        Style::new().fg(self.muted)
    }

    /// A key name in the footer and the help.
    pub fn key(&self) -> Style {
        Style::new().fg(self.text).add_modifier(Modifier::BOLD)
    }

    /// The one thing that matters on a screen: the live link, a focused field, a title word.
    pub fn accent(&self) -> Style {
        Style::new().fg(self.accent).add_modifier(Modifier::BOLD)
    }

    /// The primary action as a button.
    pub fn button(&self) -> Style {
        Style::new()
            .fg(self.on_accent())
            .bg(self.accent)
            .add_modifier(Modifier::BOLD)
    }

    /// The selected row of a table: reverse video — background on text, over every cell, so no
    /// state colour is left on it (16 colours reverse the terminal's own pair).
    pub fn selected(&self) -> Style {
        if self.depth == Depth::Ansi16 {
            // The terminal's own pair, reversed: resetting every cell's colours first keeps a
            // muted or coloured cell from reversing into a block of its own colour.
            Style::new()
                .fg(Color::Reset)
                .bg(Color::Reset)
                .add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
                .fg(self.background)
                .bg(self.text)
                .add_modifier(Modifier::BOLD)
        }
    }

    /// The marker in front of the selected row.
    pub fn marker(&self) -> Style {
        Style::new().fg(self.accent).add_modifier(Modifier::BOLD)
    }

    pub fn success(&self) -> Style {
        Style::new().fg(self.success).add_modifier(Modifier::BOLD)
    }

    pub fn danger(&self) -> Style {
        Style::new().fg(self.danger).add_modifier(Modifier::BOLD)
    }

    pub fn warning(&self) -> Style {
        Style::new().fg(self.warning)
    }

    /// A dead link: struck through and muted, so nobody copies it again.
    pub fn dead(&self) -> Style {
        Style::new()
            .fg(self.muted)
            .add_modifier(Modifier::CROSSED_OUT)
    }

    /// A panel's border: the accent when it has the focus, else an outline still visible
    /// against the surface.
    pub fn border(&self, focused: bool) -> Style {
        Style::new().fg(if focused { self.accent } else { self.outline })
    }

    /// Text drawn on an accent (or any signal colour) background.
    pub fn on_accent(&self) -> Color {
        if self.depth == Depth::Ansi16 {
            // The terminal's own foreground is white on dark terminals and black on light ones:
            // on red, either reads.
            Color::Reset
        } else {
            self.background
        }
    }

    /// The QR code's (light, dark) module colours: light modules must be light on every
    /// terminal, so 16 colours name them outright instead of using the terminal's own.
    pub fn qr(&self) -> (Color, Color) {
        if self.depth == Depth::Ansi16 {
            (Color::White, Color::Black)
        } else {
            (self.text, self.background)
        }
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
        assert_eq!(nearest_16(p.warning), Color::Yellow);
        let styles = Styles::new(p, Depth::Ansi16);
        assert_eq!(styles.border, Color::DarkGray);
        assert_ne!(styles.accent, styles.danger, "orange and red stay apart");
        let true_styles = Styles::new(p, Depth::TrueColor);
        assert_eq!(true_styles.accent, Color::Rgb(0xff, 0x5f, 0x15));
    }

    /// WCAG relative luminance of an sRGB colour.
    fn luminance(rgb: Rgb) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(rgb.0) + 0.7152 * lin(rgb.1) + 0.0722 * lin(rgb.2)
    }

    #[test]
    fn unfocused_borders_keep_three_to_one_contrast_against_the_surface() {
        let p = &Theme::industrial_urgency().colors;
        let (a, b) = (luminance(p.outline), luminance(p.surface));
        let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
        assert!(ratio >= 3.0, "outline on surface is {ratio:.2}:1");
    }
}
