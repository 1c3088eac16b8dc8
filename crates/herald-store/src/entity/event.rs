//! `events`: the append-only log of what happened, by whom (actor type and
//! id) and to what, with a JSON payload.

use herald_core::event::{ActorType, EventKind};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub kind: EventKind,
    pub post_id: Option<Uuid>,
    pub integration_id: Option<Uuid>,
    pub actor_type: ActorType,
    pub actor_id: Option<Uuid>,
    pub data: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
