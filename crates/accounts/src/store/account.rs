//! One row per account. `path` is the ids from the root down to the account joined by
//! `/`, so "is B under A" is a prefix test and "A's subtree" an index range scan.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// Name lowercased with every non-alphanumeric dropped (unique).
    #[sea_orm(unique)]
    pub name_key: String,
    pub realm: String,
    /// Realm lowercased (unique).
    #[sea_orm(unique)]
    pub realm_key: String,
    pub parent_id: Option<String>,
    pub path: String,
    pub depth: i32,
    /// Number of accounts below this one, kept by every create, delete and move, so
    /// listings show it without counting a subtree.
    pub descendants: i64,
    pub enabled: bool,
    pub superduper_admin: bool,
    pub is_reseller: bool,
    #[sea_orm(unique)]
    pub api_key: String,
    /// Salt of the account's users' credential hashes.
    pub auth_salt: String,
    #[sea_orm(column_type = "Text")]
    pub doc: String,
    pub rev: i64,
    pub created: i64,
    pub modified: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Ancestors, root first.
    pub fn tree(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.path.split('/').map(str::to_string).collect();
        ids.pop();
        ids
    }
}
