//! The provision state machine of a bare-metal node.
//!
//! Everything about provision states is declared here exactly once:
//!
//! * [`ProvisionState`]: the states, with their Ironic wire strings (used by
//!   `Display`, `FromStr` and serde alike) and their classification
//!   (stable / failed / transient, see [`Stability`]);
//! * [`Event`]: what moves a node between states, either requested through
//!   the API or raised by the conductor while it works;
//! * [`TRANSITIONS`]: the one transition table;
//! * [`Verb`]: the `target` strings a client PUTs to
//!   `/v1/nodes/{id}/states/provision`, each mapped onto an [`Event`].
//!
//! The behaviour follows OpenStack Ironic's state machine, restricted to the
//! states listed in [`ProvisionState`] (Ironic's hold and service states are
//! not modelled).
//!
//! # Target provision state
//!
//! While a node is in a non-stable state, Ironic reports the stable state the
//! current operation is heading for as `target_provision_state`; in a stable
//! state the target is empty. [`Transition::target`] is the target a node gets
//! on entering [`Transition::to`].
//!
//! One operation has a goal chosen by context rather than by the state alone:
//! cleaning. Automated cleaning (after `provide` or an undeploy) heads for
//! `available`; manual cleaning (the `clean` verb) heads for `manageable`. The
//! goal is recorded in the node's target when cleaning starts, and:
//!
//! * transitions inside cleaning (`cleaning` / `clean wait` / `clean failed`)
//!   have [`Transition::keeps_target`] set: the node's current target is kept,
//!   and [`Transition::target`] is only the default for a node without one;
//! * a cleaning node finishing with [`Event::Done`] goes to `available`, and
//!   with [`Event::DoneManageable`] to `manageable`. [`resolve`] picks
//!   `DoneManageable` for `Done` when the node's target is `manageable`.
//!
//! Conductor code should therefore move nodes with [`resolve`], passing the
//! node's current `target_provision_state`, and store the resulting
//! [`Step::provision_state`] and [`Step::target`]. [`next`] is the raw table
//! lookup and [`check`] the API-side legality check for a [`Verb`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The provision state of a node.
///
/// Serialized as Ironic's wire strings (`"wait call-back"` for
/// [`ProvisionState::DeployWait`], `"inspect wait"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum ProvisionState {
    /// "enroll": known to the service, not yet managed.
    Enroll,
    /// "verifying": management credentials are being verified.
    Verifying,
    /// "manageable": verified, but not offered for deployment.
    Manageable,
    /// "inspecting": hardware inspection is running.
    Inspecting,
    /// "inspect wait": asynchronous inspection is in progress.
    InspectWait,
    /// "inspect failed".
    InspectFailed,
    /// "available": ready to be deployed.
    Available,
    /// "deploying".
    Deploying,
    /// "wait call-back": deployment is waiting for the ramdisk agent.
    DeployWait,
    /// "deploy failed".
    DeployFailed,
    /// "active": deployed.
    Active,
    /// "deleting": being torn down.
    Deleting,
    /// "cleaning".
    Cleaning,
    /// "clean wait": cleaning is waiting for a clean step to finish.
    CleanWait,
    /// "clean failed".
    CleanFailed,
    /// "error": tear down failed.
    Error,
    /// "rescuing".
    Rescuing,
    /// "rescue wait": rescue is waiting for the ramdisk agent.
    RescueWait,
    /// "rescue failed".
    RescueFailed,
    /// "rescue": booted into the rescue ramdisk.
    Rescue,
    /// "unrescuing".
    Unrescuing,
    /// "unrescue failed".
    UnrescueFailed,
    /// "adopting": taking over a node deployed by other means.
    Adopting,
    /// "adopt failed".
    AdoptFailed,
}

/// How a provision state behaves, following Ironic's state lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stability {
    /// Ironic's `STABLE_STATES`: the node stays here until a request moves
    /// it; the target provision state is empty.
    Stable,
    /// Ironic's `FAILURE_STATES`: an operation failed; the node waits for an
    /// operator, and keeps the failed operation's target.
    Failed,
    /// Ironic's `UNSTABLE_STATES`: the conductor is working (or waiting for
    /// the node) and will move it on by itself.
    Transient,
}

impl ProvisionState {
    /// Every provision state, in declaration order.
    pub const ALL: [ProvisionState; 24] = [
        Self::Enroll,
        Self::Verifying,
        Self::Manageable,
        Self::Inspecting,
        Self::InspectWait,
        Self::InspectFailed,
        Self::Available,
        Self::Deploying,
        Self::DeployWait,
        Self::DeployFailed,
        Self::Active,
        Self::Deleting,
        Self::Cleaning,
        Self::CleanWait,
        Self::CleanFailed,
        Self::Error,
        Self::Rescuing,
        Self::RescueWait,
        Self::RescueFailed,
        Self::Rescue,
        Self::Unrescuing,
        Self::UnrescueFailed,
        Self::Adopting,
        Self::AdoptFailed,
    ];

    /// The state's Ironic wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enroll => "enroll",
            Self::Verifying => "verifying",
            Self::Manageable => "manageable",
            Self::Inspecting => "inspecting",
            Self::InspectWait => "inspect wait",
            Self::InspectFailed => "inspect failed",
            Self::Available => "available",
            Self::Deploying => "deploying",
            Self::DeployWait => "wait call-back",
            Self::DeployFailed => "deploy failed",
            Self::Active => "active",
            Self::Deleting => "deleting",
            Self::Cleaning => "cleaning",
            Self::CleanWait => "clean wait",
            Self::CleanFailed => "clean failed",
            Self::Error => "error",
            Self::Rescuing => "rescuing",
            Self::RescueWait => "rescue wait",
            Self::RescueFailed => "rescue failed",
            Self::Rescue => "rescue",
            Self::Unrescuing => "unrescuing",
            Self::UnrescueFailed => "unrescue failed",
            Self::Adopting => "adopting",
            Self::AdoptFailed => "adopt failed",
        }
    }

    /// Whether the state is stable, failed or transient.
    pub const fn stability(self) -> Stability {
        match self {
            Self::Enroll
            | Self::Manageable
            | Self::Available
            | Self::Active
            | Self::Error
            | Self::Rescue => Stability::Stable,
            Self::InspectFailed
            | Self::DeployFailed
            | Self::CleanFailed
            | Self::RescueFailed
            | Self::UnrescueFailed
            | Self::AdoptFailed => Stability::Failed,
            Self::Verifying
            | Self::Inspecting
            | Self::InspectWait
            | Self::Deploying
            | Self::DeployWait
            | Self::Deleting
            | Self::Cleaning
            | Self::CleanWait
            | Self::Rescuing
            | Self::RescueWait
            | Self::Unrescuing
            | Self::Adopting => Stability::Transient,
        }
    }

    /// In Ironic's `STABLE_STATES` (enroll, manageable, available, active,
    /// error, rescue). Only these are valid target provision states.
    pub const fn is_stable(self) -> bool {
        matches!(self.stability(), Stability::Stable)
    }

    /// In Ironic's `FAILURE_STATES` (the six `... failed` states).
    pub const fn is_failed(self) -> bool {
        matches!(self.stability(), Stability::Failed)
    }

    /// Neither stable nor failed: the conductor owns the node and will move
    /// it on (Ironic's `UNSTABLE_STATES`).
    pub const fn is_transient(self) -> bool {
        matches!(self.stability(), Stability::Transient)
    }

    /// In Ironic's `DELETE_ALLOWED_STATES`: manageable, enroll, adopt failed.
    ///
    /// Ironic also allows deleting `available` nodes unless
    /// `[conductor]allow_deleting_available_nodes` is false (it is true by
    /// default); use [`ProvisionState::is_deletable_with`] to honour that
    /// option. Nodes in maintenance may be deleted in any state; that check
    /// belongs to the caller.
    pub const fn is_deletable(self) -> bool {
        matches!(self, Self::Manageable | Self::Enroll | Self::AdoptFailed)
    }

    /// [`ProvisionState::is_deletable`], plus `available` when
    /// `allow_deleting_available_nodes` is set.
    pub const fn is_deletable_with(self, allow_deleting_available_nodes: bool) -> bool {
        self.is_deletable() || (allow_deleting_available_nodes && matches!(self, Self::Available))
    }
}

impl From<ProvisionState> for &'static str {
    fn from(state: ProvisionState) -> Self {
        state.as_str()
    }
}

impl fmt::Display for ProvisionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the provision states' wire strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provision state \"{0}\"")]
pub struct UnknownProvisionState(pub String);

impl FromStr for ProvisionState {
    type Err = UnknownProvisionState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownProvisionState(s.to_owned()))
    }
}

impl TryFrom<String> for ProvisionState {
    type Error = UnknownProvisionState;

    fn try_from(s: String) -> Result<Self, UnknownProvisionState> {
        s.parse()
    }
}

/// What moves a node from one provision state to another.
///
/// The first group is requested by users through the API ([`Verb::event`]);
/// the second is raised by the conductor while it works on the node. No
/// event belongs to both groups, so [`check`] can never trigger a
/// conductor-only transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    // --- requested through the API ---
    /// Verify an enrolled node, or bring a node back to manageable.
    Manage,
    /// Make a manageable node available (through automated cleaning).
    Provide,
    /// Inspect the hardware.
    Inspect,
    /// Deploy (verbs `active` / `deploy`).
    Deploy,
    /// Tear down (verbs `deleted` / `undeploy`); Ironic's `delete` event.
    Undeploy,
    /// Redeploy an active, failed or errored node.
    Rebuild,
    /// Manual cleaning of a manageable node.
    Clean,
    /// Abort an operation waiting for the node.
    Abort,
    /// Adopt a node deployed by other means.
    Adopt,
    /// Boot into the rescue ramdisk.
    Rescue,
    /// Leave rescue mode.
    Unrescue,

    // --- raised by the conductor ---
    /// The running operation finished successfully.
    Done,
    /// Cleaning finished and the node returns to manageable (manual cleaning,
    /// or any cleaning of a retired node). Ironic raises `manage` here.
    DoneManageable,
    /// The running operation failed.
    Fail,
    /// The operation now waits for the node (agent call-back, clean step).
    Wait,
    /// The node called back; the operation continues.
    Resume,
    /// Tear down finished; automated cleaning starts. Ironic raises `clean`
    /// here.
    AutoClean,
}

impl Event {
    /// Every event, in declaration order.
    pub const ALL: [Event; 17] = [
        Self::Manage,
        Self::Provide,
        Self::Inspect,
        Self::Deploy,
        Self::Undeploy,
        Self::Rebuild,
        Self::Clean,
        Self::Abort,
        Self::Adopt,
        Self::Rescue,
        Self::Unrescue,
        Self::Done,
        Self::DoneManageable,
        Self::Fail,
        Self::Wait,
        Self::Resume,
        Self::AutoClean,
    ];

    /// A short name for logs and node history.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Manage => "manage",
            Self::Provide => "provide",
            Self::Inspect => "inspect",
            Self::Deploy => "deploy",
            Self::Undeploy => "undeploy",
            Self::Rebuild => "rebuild",
            Self::Clean => "clean",
            Self::Abort => "abort",
            Self::Adopt => "adopt",
            Self::Rescue => "rescue",
            Self::Unrescue => "unrescue",
            Self::Done => "done",
            Self::DoneManageable => "done (manageable)",
            Self::Fail => "fail",
            Self::Wait => "wait",
            Self::Resume => "resume",
            Self::AutoClean => "auto clean",
        }
    }

    /// Whether the event is requested through the API (as opposed to raised
    /// by the conductor).
    pub const fn is_user_initiated(self) -> bool {
        match self {
            Self::Manage
            | Self::Provide
            | Self::Inspect
            | Self::Deploy
            | Self::Undeploy
            | Self::Rebuild
            | Self::Clean
            | Self::Abort
            | Self::Adopt
            | Self::Rescue
            | Self::Unrescue => true,
            Self::Done
            | Self::DoneManageable
            | Self::Fail
            | Self::Wait
            | Self::Resume
            | Self::AutoClean => false,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The state the event applies to.
    pub from: ProvisionState,
    /// The event.
    pub event: Event,
    /// The state the node moves to.
    pub to: ProvisionState,
    /// The target provision state once in `to`: `None` exactly when `to` is
    /// stable. When [`Transition::keeps_target`] is set this is only the
    /// default; see [`Transition::target_after`].
    pub target: Option<ProvisionState>,
    /// The move stays inside an operation whose goal was fixed when it
    /// started (cleaning): a node that already has a target keeps it.
    pub keeps_target: bool,
}

impl Transition {
    /// The target provision state a node has after this transition, given
    /// the target it has now.
    pub fn target_after(&self, current_target: Option<ProvisionState>) -> Option<ProvisionState> {
        match current_target {
            Some(current) if self.keeps_target && current.is_stable() => Some(current),
            _ => self.target,
        }
    }
}

use Event as E;
use ProvisionState as S;

/// A row into a stable state: no target.
const fn settle(from: S, event: E, to: S) -> Transition {
    Transition {
        from,
        event,
        to,
        target: None,
        keeps_target: false,
    }
}

/// A row into a non-stable state, heading for `target`.
const fn go(from: S, event: E, to: S, target: S) -> Transition {
    Transition {
        from,
        event,
        to,
        target: Some(target),
        keeps_target: false,
    }
}

/// A row inside cleaning: the node's current target, if any, is kept.
const fn keep(from: S, event: E, to: S, default_target: S) -> Transition {
    Transition {
        from,
        event,
        to,
        target: Some(default_target),
        keeps_target: true,
    }
}

/// The transition table: every legal (state, event) pair, exactly once.
pub const TRANSITIONS: &[Transition] = &[
    // Enrolment and verification.
    go(S::Enroll, E::Manage, S::Verifying, S::Manageable),
    settle(S::Verifying, E::Done, S::Manageable),
    settle(S::Verifying, E::Fail, S::Enroll),
    // From manageable.
    go(S::Manageable, E::Provide, S::Cleaning, S::Available),
    go(S::Manageable, E::Clean, S::Cleaning, S::Manageable),
    go(S::Manageable, E::Inspect, S::Inspecting, S::Manageable),
    go(S::Manageable, E::Adopt, S::Adopting, S::Active),
    // Inspection.
    settle(S::Inspecting, E::Done, S::Manageable),
    go(S::Inspecting, E::Fail, S::InspectFailed, S::Manageable),
    go(S::Inspecting, E::Wait, S::InspectWait, S::Manageable),
    settle(S::InspectWait, E::Done, S::Manageable),
    go(S::InspectWait, E::Fail, S::InspectFailed, S::Manageable),
    go(S::InspectWait, E::Abort, S::InspectFailed, S::Manageable),
    go(S::InspectWait, E::Resume, S::Inspecting, S::Manageable),
    settle(S::InspectFailed, E::Manage, S::Manageable),
    go(S::InspectFailed, E::Inspect, S::Inspecting, S::Manageable),
    // From available.
    go(S::Available, E::Deploy, S::Deploying, S::Active),
    settle(S::Available, E::Manage, S::Manageable),
    // Deployment.
    settle(S::Deploying, E::Done, S::Active),
    go(S::Deploying, E::Fail, S::DeployFailed, S::Active),
    go(S::Deploying, E::Wait, S::DeployWait, S::Active),
    go(S::DeployWait, E::Resume, S::Deploying, S::Active),
    go(S::DeployWait, E::Fail, S::DeployFailed, S::Active),
    go(S::DeployWait, E::Abort, S::DeployFailed, S::Active),
    go(S::DeployWait, E::Undeploy, S::Deleting, S::Available),
    go(S::DeployFailed, E::Rebuild, S::Deploying, S::Active),
    go(S::DeployFailed, E::Deploy, S::Deploying, S::Active),
    go(S::DeployFailed, E::Undeploy, S::Deleting, S::Available),
    // From active.
    go(S::Active, E::Rebuild, S::Deploying, S::Active),
    go(S::Active, E::Undeploy, S::Deleting, S::Available),
    go(S::Active, E::Rescue, S::Rescuing, S::Rescue),
    // Tear down, always followed by (automated) cleaning.
    go(S::Deleting, E::AutoClean, S::Cleaning, S::Available),
    settle(S::Deleting, E::Fail, S::Error),
    // Cleaning; heads for available (automated) or manageable (manual).
    settle(S::Cleaning, E::Done, S::Available),
    settle(S::Cleaning, E::DoneManageable, S::Manageable),
    keep(S::Cleaning, E::Fail, S::CleanFailed, S::Available),
    keep(S::Cleaning, E::Wait, S::CleanWait, S::Available),
    keep(S::CleanWait, E::Resume, S::Cleaning, S::Available),
    keep(S::CleanWait, E::Fail, S::CleanFailed, S::Available),
    keep(S::CleanWait, E::Abort, S::CleanFailed, S::Available),
    settle(S::CleanFailed, E::Manage, S::Manageable),
    // From error (failed tear down).
    go(S::Error, E::Rebuild, S::Deploying, S::Active),
    go(S::Error, E::Undeploy, S::Deleting, S::Available),
    // Rescue.
    settle(S::Rescuing, E::Done, S::Rescue),
    go(S::Rescuing, E::Fail, S::RescueFailed, S::Rescue),
    go(S::Rescuing, E::Wait, S::RescueWait, S::Rescue),
    go(S::RescueWait, E::Resume, S::Rescuing, S::Rescue),
    go(S::RescueWait, E::Fail, S::RescueFailed, S::Rescue),
    go(S::RescueWait, E::Abort, S::RescueFailed, S::Rescue),
    go(S::RescueWait, E::Undeploy, S::Deleting, S::Available),
    go(S::Rescue, E::Rescue, S::Rescuing, S::Rescue),
    go(S::Rescue, E::Unrescue, S::Unrescuing, S::Active),
    go(S::Rescue, E::Undeploy, S::Deleting, S::Available),
    go(S::RescueFailed, E::Rescue, S::Rescuing, S::Rescue),
    go(S::RescueFailed, E::Unrescue, S::Unrescuing, S::Active),
    go(S::RescueFailed, E::Undeploy, S::Deleting, S::Available),
    settle(S::Unrescuing, E::Done, S::Active),
    go(S::Unrescuing, E::Fail, S::UnrescueFailed, S::Active),
    go(S::UnrescueFailed, E::Rescue, S::Rescuing, S::Rescue),
    go(S::UnrescueFailed, E::Unrescue, S::Unrescuing, S::Active),
    go(S::UnrescueFailed, E::Undeploy, S::Deleting, S::Available),
    // Adoption.
    settle(S::Adopting, E::Done, S::Active),
    go(S::Adopting, E::Fail, S::AdoptFailed, S::Active),
    go(S::AdoptFailed, E::Adopt, S::Adopting, S::Active),
    settle(S::AdoptFailed, E::Manage, S::Manageable),
];

/// The table row for `event` in state `from`, if the event is legal there.
///
/// This is the raw lookup: conductor code should use [`resolve`], which also
/// applies the node's current target.
pub fn next(from: ProvisionState, event: Event) -> Option<&'static Transition> {
    TRANSITIONS
        .iter()
        .find(|t| t.from == from && t.event == event)
}

/// A transition resolved against a node's current target provision state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The table row applied.
    pub transition: &'static Transition,
    /// The node's new `provision_state`.
    pub provision_state: ProvisionState,
    /// The node's new `target_provision_state`.
    pub target: Option<ProvisionState>,
}

/// Applies `event` to a node in `from` whose `target_provision_state` is
/// `current_target`. `None` when the event is illegal in `from`.
///
/// * [`Event::Done`] from a state that also accepts
///   [`Event::DoneManageable`] (i.e. cleaning) resolves to `DoneManageable`
///   when `current_target` is `manageable`: manual cleaning ends in
///   `manageable`, automated cleaning in `available`.
/// * The new target is [`Transition::target_after`] `current_target`: rows
///   with [`Transition::keeps_target`] keep the node's current target.
pub fn resolve(
    from: ProvisionState,
    event: Event,
    current_target: Option<ProvisionState>,
) -> Option<Step> {
    let manual = event == Event::Done && current_target == Some(ProvisionState::Manageable);
    let transition = match manual.then(|| next(from, Event::DoneManageable)).flatten() {
        Some(t) => t,
        None => next(from, event)?,
    };
    Some(Step {
        transition,
        provision_state: transition.to,
        target: transition.target_after(current_target),
    })
}

/// A provision verb: the `target` a client PUTs to
/// `/v1/nodes/{id}/states/provision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// "active": deploy.
    Active,
    /// "deleted": tear down.
    Deleted,
    /// "rebuild": redeploy.
    Rebuild,
    /// "manage".
    Manage,
    /// "provide".
    Provide,
    /// "inspect".
    Inspect,
    /// "clean": manual cleaning (requires `clean_steps`).
    Clean,
    /// "abort".
    Abort,
    /// "adopt".
    Adopt,
    /// "rescue" (requires `rescue_password`).
    Rescue,
    /// "unrescue".
    Unrescue,
    /// "deploy": alias of "active" (API 1.73).
    Deploy,
    /// "undeploy": alias of "deleted" (API 1.73).
    Undeploy,
}

impl Verb {
    /// Every verb, in declaration order.
    pub const ALL: [Verb; 13] = [
        Self::Active,
        Self::Deleted,
        Self::Rebuild,
        Self::Manage,
        Self::Provide,
        Self::Inspect,
        Self::Clean,
        Self::Abort,
        Self::Adopt,
        Self::Rescue,
        Self::Unrescue,
        Self::Deploy,
        Self::Undeploy,
    ];

    /// Parses a `target` string; `None` for anything that is not a verb
    /// (Ironic answers 400 `The requested action "..." could not be
    /// understood.`).
    pub fn parse(s: &str) -> Option<Verb> {
        Self::ALL.into_iter().find(|verb| verb.as_str() == s)
    }

    /// The verb's wire string.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deleted => "deleted",
            Self::Rebuild => "rebuild",
            Self::Manage => "manage",
            Self::Provide => "provide",
            Self::Inspect => "inspect",
            Self::Clean => "clean",
            Self::Abort => "abort",
            Self::Adopt => "adopt",
            Self::Rescue => "rescue",
            Self::Unrescue => "unrescue",
            Self::Deploy => "deploy",
            Self::Undeploy => "undeploy",
        }
    }

    /// The state-machine event the verb requests.
    pub const fn event(&self) -> Event {
        match self {
            Self::Active | Self::Deploy => Event::Deploy,
            Self::Deleted | Self::Undeploy => Event::Undeploy,
            Self::Rebuild => Event::Rebuild,
            Self::Manage => Event::Manage,
            Self::Provide => Event::Provide,
            Self::Inspect => Event::Inspect,
            Self::Clean => Event::Clean,
            Self::Abort => Event::Abort,
            Self::Adopt => Event::Adopt,
            Self::Rescue => Event::Rescue,
            Self::Unrescue => Event::Unrescue,
        }
    }

    /// The oldest API microversion accepting the verb (older requests get
    /// 406 Not Acceptable). (1, 1) is the oldest version served at all.
    pub const fn min_version(&self) -> (u16, u16) {
        match self {
            Self::Active | Self::Deleted | Self::Rebuild => (1, 1),
            Self::Manage | Self::Provide => (1, 4),
            Self::Inspect => (1, 6),
            Self::Abort => (1, 13),
            Self::Clean => (1, 15),
            Self::Adopt => (1, 17),
            Self::Rescue | Self::Unrescue => (1, 38),
            Self::Deploy | Self::Undeploy => (1, 73),
        }
    }

    /// The oldest API microversion accepting the verb for a node in `state`:
    /// [`Verb::min_version`], raised where Ironic gates a verb per state
    /// (`abort` of `inspect wait` needs 1.41, of `wait call-back` 1.110).
    pub const fn min_version_in(&self, state: ProvisionState) -> (u16, u16) {
        match (self, state) {
            (Self::Abort, ProvisionState::InspectWait) => (1, 41),
            (Self::Abort, ProvisionState::DeployWait) => (1, 110),
            _ => self.min_version(),
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verb that is not legal in the node's current provision state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the requested action \"{verb}\" can not be performed in state \"{from}\"")]
pub struct IllegalTransition {
    /// The node's provision state.
    pub from: ProvisionState,
    /// The verb requested.
    pub verb: Verb,
}

impl IllegalTransition {
    /// Ironic's `InvalidStateRequested` message (HTTP 400) for node `node`.
    pub fn message(&self, node: &str) -> String {
        format!(
            "The requested action \"{}\" can not be performed on node \"{}\" while it is in state \"{}\".",
            self.verb, node, self.from
        )
    }
}

/// Whether `verb` may be requested for a node in `from`, and the table row it
/// triggers. Use [`Transition::target_after`] with the node's current target
/// for the new target (it matters for `abort` during manual cleaning).
pub fn check(from: ProvisionState, verb: Verb) -> Result<&'static Transition, IllegalTransition> {
    next(from, verb.event()).ok_or(IllegalTransition { from, verb })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashSet, VecDeque};

    /// The expected machine, written independently of [`TRANSITIONS`]:
    /// (destination, target) for every legal pair.
    fn expected(from: S, event: E) -> Option<(S, Option<S>)> {
        use Event::*;
        use ProvisionState::*;
        let m = Some(Manageable);
        let act = Some(Active);
        let avail = Some(Available);
        let res = Some(ProvisionState::Rescue);
        let dest = match (from, event) {
            (Enroll, Manage) => (Verifying, m),
            (Verifying, Done) => (Manageable, None),
            (Verifying, Fail) => (Enroll, None),

            (Manageable, Provide) => (Cleaning, avail),
            (Manageable, Clean) => (Cleaning, m),
            (Manageable, Inspect) => (Inspecting, m),
            (Manageable, Adopt) => (Adopting, act),

            (Inspecting, Done) => (Manageable, None),
            (Inspecting, Fail) => (InspectFailed, m),
            (Inspecting, Wait) => (InspectWait, m),
            (InspectWait, Done) => (Manageable, None),
            (InspectWait, Fail | Abort) => (InspectFailed, m),
            (InspectWait, Resume) => (Inspecting, m),
            (InspectFailed, Manage) => (Manageable, None),
            (InspectFailed, Inspect) => (Inspecting, m),

            (Available, Deploy) => (Deploying, act),
            (Available, Manage) => (Manageable, None),

            (Deploying, Done) => (Active, None),
            (Deploying, Fail) => (DeployFailed, act),
            (Deploying, Wait) => (DeployWait, act),
            (DeployWait, Resume) => (Deploying, act),
            (DeployWait, Fail | Abort) => (DeployFailed, act),
            (DeployWait, Undeploy) => (Deleting, avail),
            (DeployFailed, Rebuild | Deploy) => (Deploying, act),
            (DeployFailed, Undeploy) => (Deleting, avail),

            (Active, Rebuild) => (Deploying, act),
            (Active, Undeploy) => (Deleting, avail),
            (Active, Event::Rescue) => (Rescuing, res),

            (Deleting, AutoClean) => (Cleaning, avail),
            (Deleting, Fail) => (ProvisionState::Error, None),

            (Cleaning, Done) => (Available, None),
            (Cleaning, DoneManageable) => (Manageable, None),
            (Cleaning, Fail) => (CleanFailed, avail),
            (Cleaning, Wait) => (CleanWait, avail),
            (CleanWait, Resume) => (Cleaning, avail),
            (CleanWait, Fail | Abort) => (CleanFailed, avail),
            (CleanFailed, Manage) => (Manageable, None),

            (ProvisionState::Error, Rebuild) => (Deploying, act),
            (ProvisionState::Error, Undeploy) => (Deleting, avail),

            (Rescuing, Done) => (ProvisionState::Rescue, None),
            (Rescuing, Fail) => (RescueFailed, res),
            (Rescuing, Wait) => (RescueWait, res),
            (RescueWait, Resume) => (Rescuing, res),
            (RescueWait, Fail | Abort) => (RescueFailed, res),
            (RescueWait, Undeploy) => (Deleting, avail),
            (ProvisionState::Rescue | RescueFailed | UnrescueFailed, Event::Rescue) => {
                (Rescuing, res)
            }
            (ProvisionState::Rescue | RescueFailed | UnrescueFailed, Unrescue) => (Unrescuing, act),
            (ProvisionState::Rescue | RescueFailed | UnrescueFailed, Undeploy) => (Deleting, avail),
            (Unrescuing, Done) => (Active, None),
            (Unrescuing, Fail) => (UnrescueFailed, act),

            (Adopting, Done) => (Active, None),
            (Adopting, Fail) => (AdoptFailed, act),
            (AdoptFailed, Adopt) => (Adopting, act),
            (AdoptFailed, Manage) => (Manageable, None),
            _ => return None,
        };
        Some(dest)
    }

    #[test]
    fn every_state_event_pair_matches_expectation() {
        let mut legal = 0;
        for from in ProvisionState::ALL {
            for event in Event::ALL {
                let got = next(from, event).map(|t| (t.to, t.target));
                assert_eq!(got, expected(from, event), "{from} --{event}-->");
                if let Some(t) = next(from, event) {
                    assert_eq!((t.from, t.event), (from, event));
                    legal += 1;
                }
            }
        }
        assert_eq!(legal, TRANSITIONS.len());
    }

    #[test]
    fn table_has_no_duplicate_rows() {
        let mut seen = HashSet::new();
        for t in TRANSITIONS {
            assert!(seen.insert((t.from, t.event)), "duplicate {t:?}");
        }
    }

    #[test]
    fn targets_follow_stability() {
        for t in TRANSITIONS {
            if t.to.is_stable() {
                assert_eq!(t.target, None, "{t:?}");
                assert!(!t.keeps_target, "{t:?}");
            } else {
                assert!(t.target.is_some(), "{t:?}");
            }
            if t.to.is_transient() {
                assert!(t.target.is_some(), "{t:?}");
            }
            if let Some(target) = t.target {
                assert!(target.is_stable(), "{t:?}");
            }
        }
    }

    #[test]
    fn only_cleaning_keeps_its_target() {
        let cleaning = [S::Cleaning, S::CleanWait, S::CleanFailed];
        for t in TRANSITIONS {
            let inside = cleaning.contains(&t.from) && cleaning.contains(&t.to);
            assert_eq!(t.keeps_target, inside, "{t:?}");
        }
    }

    #[test]
    fn every_state_has_a_way_to_a_stable_state() {
        for start in ProvisionState::ALL {
            assert!(
                TRANSITIONS.iter().any(|t| t.from == start),
                "{start} has no transitions"
            );
            let mut seen = HashSet::from([start]);
            let mut queue = VecDeque::from([start]);
            let mut found = false;
            while let Some(state) = queue.pop_front() {
                for t in TRANSITIONS.iter().filter(|t| t.from == state) {
                    if t.to.is_stable() {
                        found = true;
                    }
                    if seen.insert(t.to) {
                        queue.push_back(t.to);
                    }
                }
            }
            assert!(found, "no stable state reachable from {start}");
        }
    }

    #[test]
    fn every_transient_state_completes_without_the_user() {
        // The conductor alone can always take a transient node to a stable or
        // failed state.
        for start in ProvisionState::ALL.into_iter().filter(|s| s.is_transient()) {
            let mut seen = HashSet::from([start]);
            let mut queue = VecDeque::from([start]);
            let mut found = false;
            while let Some(state) = queue.pop_front() {
                for t in TRANSITIONS
                    .iter()
                    .filter(|t| t.from == state && !t.event.is_user_initiated())
                {
                    if !t.to.is_transient() {
                        found = true;
                    }
                    if seen.insert(t.to) {
                        queue.push_back(t.to);
                    }
                }
            }
            assert!(found, "{start} cannot settle without the user");
        }
    }

    #[test]
    fn stability_matches_ironic_lists() {
        let stable = [
            "enroll",
            "manageable",
            "available",
            "active",
            "error",
            "rescue",
        ];
        let failed = [
            "deploy failed",
            "clean failed",
            "inspect failed",
            "rescue failed",
            "unrescue failed",
            "adopt failed",
        ];
        for state in ProvisionState::ALL {
            let s = state.as_str();
            assert_eq!(state.is_stable(), stable.contains(&s), "{s}");
            assert_eq!(state.is_failed(), failed.contains(&s), "{s}");
            assert_eq!(
                state.is_transient(),
                !stable.contains(&s) && !failed.contains(&s),
                "{s}"
            );
        }
        let deletable: Vec<_> = ProvisionState::ALL
            .into_iter()
            .filter(|s| s.is_deletable())
            .collect();
        assert_eq!(deletable, [S::Enroll, S::Manageable, S::AdoptFailed]);
        assert!(S::Available.is_deletable_with(true));
        assert!(!S::Available.is_deletable_with(false));
        assert!(!S::Active.is_deletable_with(true));
    }

    #[test]
    fn serde_round_trips_every_state() {
        let wire = [
            "enroll",
            "verifying",
            "manageable",
            "inspecting",
            "inspect wait",
            "inspect failed",
            "available",
            "deploying",
            "wait call-back",
            "deploy failed",
            "active",
            "deleting",
            "cleaning",
            "clean wait",
            "clean failed",
            "error",
            "rescuing",
            "rescue wait",
            "rescue failed",
            "rescue",
            "unrescuing",
            "unrescue failed",
            "adopting",
            "adopt failed",
        ];
        assert_eq!(wire.len(), ProvisionState::ALL.len());
        for (state, s) in ProvisionState::ALL.into_iter().zip(wire) {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            let back: ProvisionState = serde_json::from_str(&json).unwrap();
            assert_eq!(back, state);
            let from_value: ProvisionState =
                serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap();
            assert_eq!(from_value, state);
            assert_eq!(s.parse::<ProvisionState>(), Ok(state));
            assert_eq!(state.to_string(), s);
        }
        assert!(serde_json::from_str::<ProvisionState>("\"deploy wait\"").is_err());
        assert_eq!(
            "nostate".parse::<ProvisionState>(),
            Err(UnknownProvisionState("nostate".to_owned()))
        );
        let opt: Option<ProvisionState> = serde_json::from_str("null").unwrap();
        assert_eq!(opt, None);
    }

    #[test]
    fn every_verb_parses() {
        let cases = [
            ("active", Verb::Active, E::Deploy, (1, 1)),
            ("deleted", Verb::Deleted, E::Undeploy, (1, 1)),
            ("rebuild", Verb::Rebuild, E::Rebuild, (1, 1)),
            ("manage", Verb::Manage, E::Manage, (1, 4)),
            ("provide", Verb::Provide, E::Provide, (1, 4)),
            ("inspect", Verb::Inspect, E::Inspect, (1, 6)),
            ("clean", Verb::Clean, E::Clean, (1, 15)),
            ("abort", Verb::Abort, E::Abort, (1, 13)),
            ("adopt", Verb::Adopt, E::Adopt, (1, 17)),
            ("rescue", Verb::Rescue, E::Rescue, (1, 38)),
            ("unrescue", Verb::Unrescue, E::Unrescue, (1, 38)),
            ("deploy", Verb::Deploy, E::Deploy, (1, 73)),
            ("undeploy", Verb::Undeploy, E::Undeploy, (1, 73)),
        ];
        assert_eq!(cases.len(), Verb::ALL.len());
        for (s, verb, event, version) in cases {
            assert_eq!(Verb::parse(s), Some(verb), "{s}");
            assert_eq!(verb.as_str(), s);
            assert_eq!(verb.to_string(), s);
            assert_eq!(verb.event(), event, "{s}");
            assert!(verb.event().is_user_initiated(), "{s}");
            assert_eq!(verb.min_version(), version, "{s}");
        }
        for bad in [
            "",
            "Active",
            "delete",
            "available",
            "unhold",
            "service",
            " manage",
        ] {
            assert_eq!(Verb::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Verb::Abort.min_version_in(S::CleanWait), (1, 13));
        assert_eq!(Verb::Abort.min_version_in(S::InspectWait), (1, 41));
        assert_eq!(Verb::Abort.min_version_in(S::DeployWait), (1, 110));
        assert_eq!(Verb::Manage.min_version_in(S::DeployWait), (1, 4));
    }

    #[test]
    fn internal_events_are_never_user_verbs() {
        let from_verbs: HashSet<Event> = Verb::ALL.into_iter().map(|v| v.event()).collect();
        for event in Event::ALL {
            assert_eq!(
                from_verbs.contains(&event),
                event.is_user_initiated(),
                "{event}"
            );
        }
    }

    #[test]
    fn check_accepts_legal_and_rejects_illegal_verbs() {
        let t = check(S::Available, Verb::Active).unwrap();
        assert_eq!((t.to, t.target), (S::Deploying, Some(S::Active)));
        assert_eq!(check(S::Available, Verb::Deploy).unwrap(), t);
        assert_eq!(check(S::Active, Verb::Deleted).unwrap().to, S::Deleting);
        assert_eq!(check(S::Active, Verb::Undeploy).unwrap().to, S::Deleting);
        for from in ProvisionState::ALL {
            for verb in Verb::ALL {
                assert_eq!(check(from, verb).ok(), next(from, verb.event()));
            }
        }
        let err = check(S::Active, Verb::Provide).unwrap_err();
        assert_eq!(
            err,
            IllegalTransition {
                from: S::Active,
                verb: Verb::Provide
            }
        );
        assert_eq!(
            err.message("1be26c0b-03f2-4d2e-ae87-c02d7f33c123"),
            "The requested action \"provide\" can not be performed on node \
             \"1be26c0b-03f2-4d2e-ae87-c02d7f33c123\" while it is in state \"active\"."
        );
        let err = check(S::DeployWait, Verb::Rebuild).unwrap_err();
        assert_eq!(
            err.message("n"),
            "The requested action \"rebuild\" can not be performed on node \"n\" while it is in state \"wait call-back\"."
        );
    }

    #[test]
    fn manual_cleaning_keeps_its_target_and_ends_manageable() {
        let start = check(S::Manageable, Verb::Clean).unwrap();
        let mut target = start.target;
        assert_eq!((start.to, target), (S::Cleaning, Some(S::Manageable)));

        let step = resolve(S::Cleaning, E::Wait, target).unwrap();
        assert_eq!(
            (step.provision_state, step.target),
            (S::CleanWait, Some(S::Manageable))
        );
        target = step.target;
        let step = resolve(S::CleanWait, E::Resume, target).unwrap();
        assert_eq!(
            (step.provision_state, step.target),
            (S::Cleaning, Some(S::Manageable))
        );
        let step = resolve(S::Cleaning, E::Done, step.target).unwrap();
        assert_eq!((step.provision_state, step.target), (S::Manageable, None));
        assert_eq!(step.transition.event, E::DoneManageable);

        // Failing and aborting keep the manual target too.
        let step = resolve(S::Cleaning, E::Fail, Some(S::Manageable)).unwrap();
        assert_eq!(
            (step.provision_state, step.target),
            (S::CleanFailed, Some(S::Manageable))
        );
        let abort = check(S::CleanWait, Verb::Abort).unwrap();
        assert_eq!(abort.target_after(Some(S::Manageable)), Some(S::Manageable));
        assert_eq!(abort.target_after(None), Some(S::Available));
    }

    #[test]
    fn automated_cleaning_ends_available() {
        let step = resolve(S::Active, E::Undeploy, None).unwrap();
        assert_eq!(
            (step.provision_state, step.target),
            (S::Deleting, Some(S::Available))
        );
        let step = resolve(S::Deleting, E::AutoClean, step.target).unwrap();
        assert_eq!(
            (step.provision_state, step.target),
            (S::Cleaning, Some(S::Available))
        );
        let step = resolve(S::Cleaning, E::Wait, step.target).unwrap();
        assert_eq!(
            (step.provision_state, step.target),
            (S::CleanWait, Some(S::Available))
        );
        let step = resolve(S::CleanWait, E::Resume, step.target).unwrap();
        let step = resolve(S::Cleaning, E::Done, step.target).unwrap();
        assert_eq!((step.provision_state, step.target), (S::Available, None));
        assert_eq!(step.transition.event, E::Done);

        // A node without a recorded target falls back to the default.
        let step = resolve(S::Cleaning, E::Done, None).unwrap();
        assert_eq!(step.provision_state, S::Available);
        let step = resolve(S::Cleaning, E::Wait, None).unwrap();
        assert_eq!(step.target, Some(S::Available));
        // A retired node is sent to manageable explicitly.
        let step = resolve(S::Cleaning, E::DoneManageable, Some(S::Available)).unwrap();
        assert_eq!((step.provision_state, step.target), (S::Manageable, None));
    }

    #[test]
    fn resolve_ignores_the_current_target_elsewhere() {
        // Done with a manageable target is plain Done where there is no
        // DoneManageable row.
        let step = resolve(S::Inspecting, E::Done, Some(S::Manageable)).unwrap();
        assert_eq!((step.provision_state, step.target), (S::Manageable, None));
        let step = resolve(S::Deploying, E::Done, Some(S::Manageable)).unwrap();
        assert_eq!(step.provision_state, S::Active);
        // Rows without keeps_target set their own target.
        let step = resolve(S::DeployWait, E::Undeploy, Some(S::Active)).unwrap();
        assert_eq!(step.target, Some(S::Available));
        assert_eq!(resolve(S::Active, E::Done, None), None);
        assert_eq!(resolve(S::Available, E::Done, Some(S::Manageable)), None);
    }
}
