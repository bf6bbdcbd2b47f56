//! Database entities, one per table. Dictionary-valued columns are JSON.

pub mod allocation;
pub mod chassis;
pub mod conductor;
pub mod deploy_template;
pub mod deploy_template_step;
pub mod disk_volume;
pub mod image;
pub mod node;
pub mod node_trait;
pub mod port;
pub mod portgroup;
pub mod volume_connector;
pub mod volume_target;
