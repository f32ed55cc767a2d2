use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub incident_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role: String,
    pub user_platform: String,
    pub user_id: String,
    pub user_name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
