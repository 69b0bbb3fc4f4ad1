//! The protocol between the window and the resident process: the same requests, replies and
//! events whatever carries them. Over the local channel (`deploywatch-link`) each is one line
//! of JSON; over HTTP (the team server) a request is `POST /api/<method>` with its `params`
//! as the body, a reply the body of the answer, and the events a Server-Sent Events stream
//! whose event names are those of [`crate::event`].
//!
//! A request's `method` is the name of the window's command ([`crate::command`]); its reply
//! carries what that command returns, as JSON.

use serde::{Deserialize, Serialize};

use crate::{Dashboard, EnvironmentForm, HistoryQuery, IpcError, OpenReport, Settings};

/// What the window (or any client) asks of the resident process.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", content = "params", rename_all = "snake_case")]
pub enum Request {
    /// Reply: [`Dashboard`].
    Dashboard,
    /// Reply: [`crate::ReportView`].
    Report {
        project: String,
        environment: String,
    },
    /// Reply: the report as Markdown (a string).
    ReportMarkdown {
        project: String,
        environment: String,
    },
    CheckNow,
    Pause,
    Resume,
    /// Reply: [`crate::HistoryPage`].
    History {
        query: HistoryQuery,
    },
    /// Reply: a list of [`crate::LagRow`].
    DeployLags {
        project: String,
        environment: Option<String>,
    },
    /// Reply: [`Settings`].
    Settings,
    /// Reply: the [`Settings`] as saved.
    SaveSettings {
        settings: Settings,
    },
    /// Mutes (`mute`) or unmutes notifications about one environment, or with no
    /// `environment` about the whole project, in the config file. Reply: [`Dashboard`].
    SetMute {
        project: String,
        environment: Option<String>,
        mute: bool,
    },
    /// Reply: [`crate::TestResult`].
    TestEnvironment {
        environment: EnvironmentForm,
    },
    /// Reply: [`crate::DeviceCode`].
    SignInStart,
    /// Reply: [`Settings`] once signed in.
    SignInWait,
    /// A token pasted by the person; it goes to the keyring and never comes back.
    /// Reply: [`Settings`].
    SignInToken {
        token: String,
    },
    /// Reply: [`Settings`].
    SignOut,
    /// Reply: [`Dashboard`] of the demo fleet.
    StartDemo,
    /// Reply: `Option<OpenReport>`, the report a newly opened window should show first.
    TakeOpenReport,
    /// The window process introduces itself. Reply: [`Attach`]. From then on the connection
    /// also carries [`Event`]s.
    AttachWindow,
    /// Brings the window to the front, opening one if there is none (a second launch).
    Show,
    /// Ends the resident process (and with it the window): the tray's Quit.
    Quit,
}

impl Request {
    /// The method's name, as in [`crate::command`] (and the path of the HTTP transport).
    pub fn method(&self) -> &'static str {
        use crate::command as c;
        match self {
            Request::Dashboard => c::DASHBOARD,
            Request::Report { .. } => c::REPORT,
            Request::ReportMarkdown { .. } => c::REPORT_MARKDOWN,
            Request::CheckNow => c::CHECK_NOW,
            Request::Pause => c::PAUSE,
            Request::Resume => c::RESUME,
            Request::History { .. } => c::HISTORY,
            Request::DeployLags { .. } => c::DEPLOY_LAGS,
            Request::Settings => c::SETTINGS,
            Request::SaveSettings { .. } => c::SAVE_SETTINGS,
            Request::SetMute { .. } => c::SET_MUTE,
            Request::TestEnvironment { .. } => c::TEST_ENVIRONMENT,
            Request::SignInStart => c::SIGN_IN_START,
            Request::SignInWait => c::SIGN_IN_WAIT,
            Request::SignInToken { .. } => c::SIGN_IN_TOKEN,
            Request::SignOut => c::SIGN_OUT,
            Request::StartDemo => c::START_DEMO,
            Request::TakeOpenReport => c::TAKE_OPEN_REPORT,
            Request::AttachWindow => c::ATTACH_WINDOW,
            Request::Show => c::SHOW,
            Request::Quit => c::QUIT,
        }
    }
}

/// Only the method: a request may carry a token, and requests end up in logs.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Request::{}", self.method())
    }
}

/// The answer to [`Request::AttachWindow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attach {
    /// This process is the window: show it.
    Attached,
    /// Another window process is attached; it was asked to come to the front, and this one
    /// should exit.
    AlreadyOpen,
}

/// What the resident process tells an attached window without being asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "payload")]
pub enum Event {
    /// A new dashboard: after every check, pause and resume.
    #[serde(rename = "dashboard-changed")]
    Dashboard(Dashboard),
    /// Show this environment's report (a tray item or a notification's Open report).
    #[serde(rename = "open-report")]
    OpenReport(OpenReport),
    /// Come to the front (the tray's Open, a second launch).
    #[serde(rename = "show")]
    Show,
    /// The resident process is ending (Quit): exit too.
    #[serde(rename = "quit")]
    Quit,
}

/// One line a client sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Chosen by the client; its [`Frame::Reply`] carries it back.
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

/// One line the resident process sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "frame", rename_all = "snake_case")]
pub enum Frame {
    Reply {
        id: u64,
        #[serde(flatten)]
        outcome: Outcome,
    },
    Event {
        #[serde(flatten)]
        event: Event,
    },
}

/// A reply's result: the method's return value as JSON, or an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(serde_json::Value),
    Error(IpcError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_request() -> Vec<Request> {
        let s = String::from;
        vec![
            Request::Dashboard,
            Request::Report {
                project: s("shop"),
                environment: s("production"),
            },
            Request::ReportMarkdown {
                project: s("shop"),
                environment: s("production"),
            },
            Request::CheckNow,
            Request::Pause,
            Request::Resume,
            Request::History {
                query: HistoryQuery {
                    project: Some(s("shop")),
                    limit: 50,
                    ..HistoryQuery::default()
                },
            },
            Request::DeployLags {
                project: s("shop"),
                environment: None,
            },
            Request::Settings,
            Request::SaveSettings {
                settings: Settings::default(),
            },
            Request::TestEnvironment {
                environment: EnvironmentForm::default(),
            },
            Request::SignInStart,
            Request::SignInWait,
            Request::SignInToken {
                token: s("ghp_secret"),
            },
            Request::SignOut,
            Request::StartDemo,
            Request::TakeOpenReport,
            Request::AttachWindow,
            Request::Show,
            Request::Quit,
        ]
    }

    #[test]
    fn every_request_crosses_as_one_line_and_comes_back_the_same() {
        for (id, request) in every_request().into_iter().enumerate() {
            let call = Call {
                id: id as u64,
                request,
            };
            let line = serde_json::to_string(&call).unwrap();
            assert!(!line.contains('\n'), "{line}");
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            // The method on the wire is the window's command name (the HTTP path later).
            assert_eq!(v["method"], call.request.method(), "{line}");
            assert_eq!(v["id"], id as u64);
            assert_eq!(serde_json::from_str::<Call>(&line).unwrap(), call);
        }
    }

    #[test]
    fn a_request_with_a_token_never_shows_it_in_debug_output() {
        let r = Request::SignInToken {
            token: "ghp_secret".into(),
        };
        let shown = format!(
            "{r:?} {:?}",
            Call {
                id: 1,
                request: r.clone()
            }
        );
        assert!(!shown.contains("ghp_secret"), "{shown}");
        assert!(shown.contains("sign_in_token"), "{shown}");
    }

    #[test]
    fn events_carry_the_names_the_window_listens_for() {
        let open = OpenReport {
            project: "shop".into(),
            environment: "production".into(),
        };
        for (event, name) in [
            (Event::OpenReport(open), crate::event::OPEN_REPORT),
            (Event::Show, "show"),
            (Event::Quit, "quit"),
        ] {
            let frame = Frame::Event { event };
            let line = serde_json::to_string(&frame).unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["frame"], "event");
            assert_eq!(v["event"], name, "{line}");
            assert_eq!(serde_json::from_str::<Frame>(&line).unwrap(), frame);
        }
        let reply = Frame::Reply {
            id: 7,
            outcome: Outcome::Error(IpcError {
                code: "not_found".into(),
                message: "no such environment".into(),
            }),
        };
        let line = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<Frame>(&line).unwrap(), reply);
        let ok = Frame::Reply {
            id: 8,
            outcome: Outcome::Ok(serde_json::json!({"empty": true})),
        };
        let line = serde_json::to_string(&ok).unwrap();
        assert_eq!(serde_json::from_str::<Frame>(&line).unwrap(), ok);
    }
}
