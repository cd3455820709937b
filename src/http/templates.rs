//! Every page, as compiled maud templates.
//!
//! Why maud over askama: templates are plain Rust checked by the compiler (a missing field or a
//! typo is a build error, not a runtime one), everything interpolated is HTML-escaped unless
//! wrapped in `PreEscaped` (used nowhere here), and there are no template files to embed or keep
//! in sync. Pages carry no inline script or style at all — the CSP forbids both — only
//! `/static/app.css` and `/static/app.js`.

use maud::{DOCTYPE, Markup, Render as _, html};

/// How a notice is coloured: the Industrial Urgency roles.
#[derive(Clone, Copy)]
pub enum Tone {
    Warning,
    Danger,
    Muted,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Warning => "tone-warning",
            Tone::Danger => "tone-danger",
            Tone::Muted => "tone-muted",
        }
    }
}

fn layout(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="robots" content="noindex, nofollow";
                // What a chat app's link preview shows: it fetched this page with GET, which
                // never opens a share — say so, and nothing about the share itself.
                meta property="og:site_name" content="onetimeshare";
                meta property="og:title" content="Someone sent you a one-time secret";
                meta property="og:description"
                    content="Opening this preview did not open it. The link works once.";
                title { (title) " · ONETIMESHARE" }
                link rel="icon" type="image/svg+xml" href="/static/favicon.svg";
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                header.bar {
                    a.brand href="/" { "ONETIME" span.accent { "SHARE" } }
                    span.tagline { "THIS LINK WORKS ONCE" }
                }
                main { (content) }
                footer.foot {
                    "THE KEY LIVES ONLY IN THE LINK: NOTHING STORED ON THE SERVER CAN OPEN IT."
                }
            }
        }
    }
}

/// One state, one message: the page for everything except the armed form and the text view.
pub struct Notice<'a> {
    pub code: u16,
    pub label: &'a str,
    pub tone: Tone,
    pub headline: &'a str,
    pub lines: Vec<String>,
}

pub fn notice(n: &Notice<'_>) -> Markup {
    layout(
        n.label,
        html! {
            section.card.(n.tone.class()) {
                p.status { span.code { (n.label) } " " span.num { (n.code) } }
                h1 { (n.headline) }
                @for line in &n.lines { p { (line) } }
                p.actions {
                    @if n.code == 429 {
                        // Back to the page the claim came from, fragment (key) and all.
                        a.button.primary href="" data-back { "TRY AGAIN" }
                    }
                    a.button.secondary href="/" { "WHAT IS THIS?" }
                }
            }
        },
    )
}

/// What the armed status page shows. Nothing here needs the key.
pub struct ArmedView<'a> {
    /// The share id: the claim form posts to `/s/{id}`, the abuse report to `/s/{id}/report`.
    pub id: &'a str,
    pub kind: &'a str,
    pub size_class: &'a str,
    pub expires_in: &'a str,
    pub expires_at: &'a str,
    pub password: bool,
    /// A problem with the previous attempt (wrong password…), shown above the form.
    pub problem: Option<&'a str>,
}

/// The armed status page: the one template. Page views go through [`ArmedPage`], which fills in
/// parts of this rendered once.
pub fn armed(v: &ArmedView<'_>) -> Markup {
    layout(
        "ARMED",
        html! {
            section.card.tone-success id="share" {
                p.status { span.code id="badge" { "ARMED" } " ONE-TIME SHARE" }
                h1 { "SOMEONE SENT YOU A SECRET " (v.kind) }
                dl.facts {
                    dt { "KIND" } dd { (v.kind) }
                    dt { "SIZE" } dd { (v.size_class) }
                    dt { "EXPIRES IN" } dd.warn { (v.expires_in) " " small { "(" (v.expires_at) ")" } }
                    dt { "PASSWORD" } dd { @if v.password { span.warn { "REQUIRED" } } @else { "NONE" } }
                }
                @if let Some(problem) = v.problem {
                    p.problem role="alert" { (problem) }
                }
                form id="claim" method="post" action={ "/s/" (v.id) } {
                    div.field id="key-field" {
                        label for="key" { "LINK KEY " small { "(THE PART AFTER # IN YOUR LINK)" } }
                        input id="key" type="text" name="key" autocomplete="off" spellcheck="false"
                            autocapitalize="off" placeholder="paste the key here";
                    }
                    @if v.password {
                        div.field {
                            label for="password" { "PASSWORD" }
                            input id="password" type="password" name="password" autocomplete="off" required;
                        }
                    }
                    // Filled by the script: the download's "it started" signal (a cookie named
                    // after it comes back with a file; see claim.rs). Carries nothing secret.
                    input id="ready" type="hidden" name="ready";
                    button.button.primary id="open" type="submit" { "OPEN — THIS DESTROYS IT" }
                    p.hint { "Opening shows the content once and deletes it from the server. "
                        "Link previews do not open it." }
                }
                div id="done" hidden {
                    p.banner role="status" {
                        "DOWNLOAD STARTED — DESTROYED ON THE SERVER AT " span id="done-at" {}
                    }
                    p { "The file is in your browser's downloads. This link will not work again: "
                        "keep the file safe, and delete it when you no longer need it." }
                }
                details.report {
                    summary { "REPORT ABUSE" }
                    form id="report" method="post" action={ "/s/" (v.id) "/report" } {
                        div.field {
                            label for="reason" { "WHAT IS WRONG" }
                            select id="reason" name="reason" required {
                                option value="malware" { "Malware" }
                                option value="phishing" { "Phishing" }
                                option value="illegal" { "Illegal content" }
                                option value="spam" { "Spam" }
                                option value="other" { "Something else" }
                            }
                        }
                        div.field {
                            label for="details" { "DETAILS " small { "(OPTIONAL; NEVER PASTE THE LINK KEY)" } }
                            textarea id="details" name="details" maxlength="500" rows="3" {}
                        }
                        button.button.secondary id="send-report" type="submit" { "SEND REPORT" }
                        p.hint { "The operator sees the report, not the content. Reporting does not open the share." }
                    }
                }
            }
        },
    )
}

/// The armed page, rendered once at start-up and filled in per page view.
///
/// Every armed page is the same ~5 KB of markup but for five values (id, kind, size class,
/// expiry span and time) and whether a password is asked for, so a page view should cost a few
/// copies and the escaping of those values, not a template run. [`armed`] stays the one source:
/// [`ArmedPage::new`] renders it with a marker in place of each value (for both password
/// variants) and splits it there. The values are escaped by maud's own escaping, as in the
/// template; a test checks that both ways give the same bytes.
pub struct ArmedPage {
    /// `[without password, with password]`; `None` only if a marker got lost, which the tests
    /// rule out — every page then comes from the template.
    variants: Option<[Variant; 2]>,
}

/// One variant of the page: markup and values in order, and the length of the markup.
struct Variant {
    pieces: Vec<Piece>,
    markup_len: usize,
}

enum Piece {
    Markup(String),
    Value(Field),
}

#[derive(Clone, Copy)]
enum Field {
    Id,
    Kind,
    SizeClass,
    ExpiresIn,
    ExpiresAt,
}

impl Field {
    const ALL: [Field; 5] = [
        Field::Id,
        Field::Kind,
        Field::SizeClass,
        Field::ExpiresIn,
        Field::ExpiresAt,
    ];

    fn of<'a>(self, v: &ArmedView<'a>) -> &'a str {
        match self {
            Field::Id => v.id,
            Field::Kind => v.kind,
            Field::SizeClass => v.size_class,
            Field::ExpiresIn => v.expires_in,
            Field::ExpiresAt => v.expires_at,
        }
    }
}

/// Brackets a field's number in the marked page: a private-use character, which no template
/// text contains and escaping leaves alone.
const MARK: char = '\u{E000}';

impl ArmedPage {
    pub fn new() -> Self {
        let marks: Vec<String> = (0..Field::ALL.len())
            .map(|n| format!("{MARK}{n}{MARK}"))
            .collect();
        let marked = |password| {
            let view = ArmedView {
                id: &marks[0],
                kind: &marks[1],
                size_class: &marks[2],
                expires_in: &marks[3],
                expires_at: &marks[4],
                password,
                problem: None,
            };
            Variant::split(&armed(&view).into_string())
        };
        Self {
            variants: marked(false).zip(marked(true)).map(<[Variant; 2]>::from),
        }
    }

    /// The page for `v`, exactly as [`armed`] renders it.
    pub fn render(&self, v: &ArmedView<'_>) -> String {
        match &self.variants {
            // A problem is shown only after a failed claim: not worth a third variant.
            Some(variants) if v.problem.is_none() => variants[usize::from(v.password)].fill(v),
            _ => armed(v).into_string(),
        }
    }
}

impl Variant {
    /// `markup, MARK n MARK, markup, …` into pieces; `None` if a mark is malformed.
    fn split(page: &str) -> Option<Variant> {
        let mut pieces = Vec::new();
        let mut markup_len = 0;
        for (i, part) in page.split(MARK).enumerate() {
            if i % 2 == 0 {
                markup_len += part.len();
                pieces.push(Piece::Markup(part.to_owned()));
            } else {
                let n: usize = part.parse().ok()?;
                pieces.push(Piece::Value(*Field::ALL.get(n)?));
            }
        }
        Some(Variant { pieces, markup_len })
    }

    fn fill(&self, v: &ArmedView<'_>) -> String {
        // The values are short (an id, a date): room for them without a second allocation.
        let mut out = String::with_capacity(self.markup_len + 256);
        for piece in &self.pieces {
            match piece {
                Piece::Markup(markup) => out.push_str(markup),
                Piece::Value(field) => field.of(v).render_to(&mut out),
            }
        }
        out
    }
}

/// A claimed text share, escaped, with a copy button.
/// A claimed text share. `content` is the exact bytes (valid UTF-8 without stray controls —
/// anything else is served as a download instead); the download link carries them base64-coded in
/// a `data:` URL, so "save as file" gives back the same bytes the textarea shows, CR LF included.
pub fn text(content: &str, opened_at: &str) -> Markup {
    use base64::Engine as _;
    // The box fits the text (a one-line API key gets a small box), up to a screenful.
    let rows = content.lines().count().clamp(2, 24) + 1;
    let data_url = format!(
        "data:text/plain;charset=utf-8;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(content.as_bytes())
    );
    layout(
        "OPENED",
        html! {
            section.card.tone-danger {
                p.banner role="status" {
                    "DESTROYED ON THE SERVER — THIS PAGE IS THE ONLY COPY. COPY IT NOW."
                }
                p.status { span.code { "OPENED" } " " (opened_at) }
                // The HTML parser drops one newline right after <textarea>: give it one to drop.
                textarea.secret id="secret" readonly rows=(rows) spellcheck="false" { "\n" (content) }
                p.actions {
                    button.button.primary id="copy" type="button" data-target="secret" { "COPY" }
                    a.button id="save" href=(data_url) download="share.txt" { "SAVE AS FILE" }
                    span.copied id="copied" hidden { "COPIED" }
                }
            }
        },
    )
}

/// The home page: what this is and how to send.
pub struct IndexView<'a> {
    /// `ssh -p 2222 share.host`
    pub ssh: String,
    /// `scp -P 2222 secret.env share.host:`
    pub scp: String,
    pub host_key: Option<&'a str>,
}

pub fn index(v: &IndexView<'_>) -> Markup {
    layout(
        "HAND A SECRET TO ONE PERSON",
        html! {
            section.card {
                p.status { span.code { "ONETIMESHARE" } }
                h1 { "HAND A SECRET TO " span.accent { "ONE" } " PERSON" }
                p { "Send an API key, a password or a .env file over SSH. You get a link that "
                    "works exactly once: opening it shows the secret and deletes it. Previews "
                    "by chat apps do not count as opening." }
                h2.label { "SEND" }
                pre.cmd { (v.ssh) "    # interactive\n"
                    "cat secret.env | " (v.ssh) "    # link on stdout\n"
                    (v.scp) }
                h2.label { "RECEIVE" }
                p { "Open the link in a browser and press OPEN, or:" }
                pre.cmd { "curl -X POST -d key=<part after #> <link without #…>" }
                @if let Some(fp) = v.host_key {
                    h2.label { "SSH HOST KEY" }
                    pre.cmd { (fp) }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prerendered_armed_page_is_the_template_byte_for_byte() {
        let page = ArmedPage::new();
        assert!(page.variants.is_some(), "a marker was lost");
        let values = [
            [
                "AbCdEfGh12345678",
                "FILE",
                "UNDER 4 KB",
                "6D 23H",
                "2026-11-23 09:34:40 UTC",
            ],
            // Hostile values are escaped as the template escapes them, and a marker in a value
            // is only text.
            ["<i>&\"'", "TE\"XT", "a<b>c", "&amp;", "x\u{E000}0\u{E000}y"],
        ];
        for password in [false, true] {
            for [id, kind, size_class, expires_in, expires_at] in values {
                for problem in [None, Some("WRONG PASSWORD <2 LEFT>")] {
                    let view = ArmedView {
                        id,
                        kind,
                        size_class,
                        expires_in,
                        expires_at,
                        password,
                        problem,
                    };
                    assert_eq!(page.render(&view), armed(&view).into_string());
                }
            }
        }
    }
}
