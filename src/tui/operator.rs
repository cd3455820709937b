//! The operator screen (`CTRL-O`, operator keys only): what `admin stats`, `shares`, `reports`
//! and `bans` show, with takedown, dismiss and unban a keypress away — each confirmed with Y, like
//! revoke. This file holds its state and key handling (pure); `operator_view.rs` draws it; the
//! session loads snapshots and runs commands through the operator console, which audits them.
//!
//! Like the console, it never holds a share's name, content, id or key: shares are handles.

use crossterm::event::{KeyCode, KeyEvent};

use super::keymap::Command;

use crate::operator::{Ban, Report, Stats};
use crate::share::{Millis, ShareOverview, StatusState};

/// How often an open operator screen reloads by itself.
pub const REFRESH_MS: Millis = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Stats,
    Shares,
    Reports,
    Bans,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Stats, Tab::Shares, Tab::Reports, Tab::Bans];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Stats => "STATS",
            Tab::Shares => "SHARES",
            Tab::Reports => "REPORTS",
            Tab::Bans => "BANS",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// Everything the screen shows, loaded in one go.
pub struct OperatorSnapshot {
    pub stats: Stats,
    pub shares: Vec<ShareOverview>,
    /// Open reports only.
    pub reports: Vec<Report>,
    pub bans: Vec<Ban>,
}

/// An action waiting for Y, then run by the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorCommand {
    /// By handle.
    TakeDown(String),
    Dismiss(u64),
    /// By ban target text.
    Unban(String),
}

impl OperatorCommand {
    pub fn question(&self) -> String {
        match self {
            OperatorCommand::TakeDown(handle) => {
                format!("TAKE DOWN {handle}? ITS CONTENT IS DELETED FOR GOOD · Y / N")
            }
            OperatorCommand::Dismiss(number) => {
                format!("DISMISS REPORT #{number} WITHOUT ACTING? · Y / N")
            }
            OperatorCommand::Unban(target) => format!("LIFT THE BAN ON {target}? · Y / N"),
        }
    }
}

pub struct OperatorPanel {
    pub tab: Tab,
    pub data: Option<Box<OperatorSnapshot>>,
    /// Selected row per tab.
    pub selected: [usize; 4],
    pub error: Option<String>,
    pub notice: Option<String>,
    pub confirm: Option<OperatorCommand>,
    pub loading: bool,
    pub loaded_at: Millis,
}

/// What a key on the operator screen asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum PanelKey {
    Stay,
    Reload,
    Run(OperatorCommand),
    Leave,
}

impl OperatorPanel {
    pub fn new() -> OperatorPanel {
        OperatorPanel {
            tab: Tab::Stats,
            data: None,
            selected: [0; 4],
            error: None,
            notice: None,
            confirm: None,
            loading: true,
            loaded_at: 0,
        }
    }

    pub fn selected(&self) -> usize {
        self.selected[self.tab.index()]
    }

    fn rows(&self) -> usize {
        let Some(data) = &self.data else { return 0 };
        match self.tab {
            Tab::Stats => 0,
            Tab::Shares => data.shares.len(),
            Tab::Reports => data.reports.len(),
            Tab::Bans => data.bans.len(),
        }
    }

    /// A fresh snapshot (or why there is none); selections stay in range.
    pub fn loaded(&mut self, result: Result<Box<OperatorSnapshot>, String>, now: Millis) {
        self.loading = false;
        self.loaded_at = now;
        match result {
            Ok(data) => {
                self.data = Some(data);
                self.error = None;
                let current = self.tab;
                for tab in Tab::ALL {
                    self.tab = tab;
                    let last = self.rows().saturating_sub(1);
                    self.selected[tab.index()] = self.selected[tab.index()].min(last);
                }
                self.tab = current;
            }
            Err(message) => self.error = Some(message),
        }
    }

    pub fn due(&self, now: Millis) -> bool {
        !self.loading && self.confirm.is_none() && now.saturating_sub(self.loaded_at) >= REFRESH_MS
    }

    /// Runs what the keymap made of a key; a pending confirmation is answered by the key itself
    /// (`y` confirms, anything else cancels).
    pub fn on_command(&mut self, command: Option<Command>, key: KeyEvent) -> PanelKey {
        if let Some(command) = self.confirm.take() {
            return match key.code {
                KeyCode::Char('y' | 'Y') => PanelKey::Run(command),
                _ => {
                    self.notice = Some("CANCELLED".into());
                    PanelKey::Stay
                }
            };
        }
        let index = self.tab.index();
        match command {
            Some(Command::Back) => return PanelKey::Leave,
            Some(Command::NextTab) => self.tab = Tab::ALL[(index + 1) % Tab::ALL.len()],
            Some(Command::PreviousTab) => {
                self.tab = Tab::ALL[(index + Tab::ALL.len() - 1) % Tab::ALL.len()];
            }
            Some(Command::Tab(n)) => {
                self.tab = Tab::ALL[usize::from(n).min(Tab::ALL.len() - 1)];
            }
            Some(Command::Up) => {
                self.selected[index] = self.selected[index].saturating_sub(1);
            }
            Some(Command::Down) if self.selected[index] + 1 < self.rows() => {
                self.selected[index] += 1;
            }
            Some(Command::Reload) => {
                self.loading = true;
                return PanelKey::Reload;
            }
            Some(Command::TakeDown) => self.ask(self.takedown_target()),
            Some(Command::Dismiss) if self.tab == Tab::Reports => {
                let number = self
                    .data
                    .as_ref()
                    .and_then(|d| d.reports.get(self.selected()))
                    .map(|r| r.number);
                self.ask(number.map(OperatorCommand::Dismiss));
            }
            Some(Command::Unban) if self.tab == Tab::Bans => {
                let target = self
                    .data
                    .as_ref()
                    .and_then(|d| d.bans.get(self.selected()))
                    .map(|b| b.target.to_string());
                self.ask(target.map(OperatorCommand::Unban));
            }
            _ => {}
        }
        PanelKey::Stay
    }

    /// The share the selection points at, on the shares tab or through a report.
    fn takedown_target(&self) -> Option<OperatorCommand> {
        let data = self.data.as_ref()?;
        let handle = match self.tab {
            Tab::Shares => {
                let share = data.shares.get(self.selected())?;
                if !matches!(share.status.state, StatusState::Armed | StatusState::Locked) {
                    return None;
                }
                share.status.handle.to_string()
            }
            Tab::Reports => data.reports.get(self.selected())?.filed.share.clone(),
            Tab::Stats | Tab::Bans => return None,
        };
        Some(OperatorCommand::TakeDown(handle))
    }

    fn ask(&mut self, command: Option<OperatorCommand>) {
        match command {
            Some(command) => self.confirm = Some(command),
            None => self.notice = Some("NOTHING TO DO HERE FOR THAT KEY".into()),
        }
    }
}

impl Default for OperatorPanel {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::{self, Scope};

    fn press(panel: &mut OperatorPanel, key: KeyEvent) -> PanelKey {
        panel.on_command(keymap::command(&key, Scope::Operator, false, true), key)
    }
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn tabs_cycle_and_number_keys_jump() {
        let mut panel = OperatorPanel::new();
        assert_eq!(press(&mut panel, key(KeyCode::Tab)), PanelKey::Stay);
        assert_eq!(panel.tab, Tab::Shares);
        press(&mut panel, key(KeyCode::Char('4')));
        assert_eq!(panel.tab, Tab::Bans);
        press(&mut panel, key(KeyCode::Tab));
        assert_eq!(panel.tab, Tab::Stats);
        press(&mut panel, key(KeyCode::BackTab));
        assert_eq!(panel.tab, Tab::Bans);
        assert_eq!(press(&mut panel, key(KeyCode::Esc)), PanelKey::Leave);
    }

    #[test]
    fn actions_need_a_selection_and_a_yes() {
        let mut panel = OperatorPanel::new();
        panel.loading = false;
        panel.tab = Tab::Shares;
        assert_eq!(press(&mut panel, key(KeyCode::Char('t'))), PanelKey::Stay);
        assert!(panel.confirm.is_none(), "no data, nothing to take down");
        panel.confirm = Some(OperatorCommand::Unban("10.0.0.0/8".into()));
        assert_eq!(press(&mut panel, key(KeyCode::Char('n'))), PanelKey::Stay);
        assert_eq!(panel.notice.as_deref(), Some("CANCELLED"));
        panel.confirm = Some(OperatorCommand::Dismiss(3));
        assert_eq!(
            press(&mut panel, key(KeyCode::Char('y'))),
            PanelKey::Run(OperatorCommand::Dismiss(3))
        );
        assert_eq!(press(&mut panel, key(KeyCode::Char('r'))), PanelKey::Reload);
        assert!(panel.loading);
        assert!(!panel.due(1_000_000), "not while a load is in flight");
    }
}
