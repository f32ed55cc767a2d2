//! sea-orm entities, one per table. They mirror the migrations and are
//! private to the store: the rest of the engine sees domain types and the
//! store's own read models.

pub mod alert_group;
pub mod inbox;
pub mod incident;
pub mod incident_action;
pub mod incident_event;
pub mod incident_participant;
pub mod incident_role;
pub mod platform_state;
pub mod timer;
