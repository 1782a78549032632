//! The number inventory: table `numbers`, one row per number the system knows, keyed
//! by E.164. Searches are index range scans (`state`, `number`) and account listings
//! range scans on (`assigned_to`, `number`); every change is written with its event in
//! one transaction, checked against the revision it read.

use async_trait::async_trait;
use crossbar_crud::db::{db_error, is_unique_violation};
use crossbar_envelope::ApiError;
use crossbar_events::Event;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sea_orm_migration::prelude::*;
use serde_json::{Map, Value};

use crate::domain::states::{Holding, NumberState};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "numbers")]
    pub struct Model {
        /// E.164.
        #[sea_orm(primary_key, auto_increment = false)]
        pub number: String,
        pub state: String,
        pub assigned_to: Option<String>,
        /// `callflow` (or another user) while something routes the number.
        pub used_by: Option<String>,
        /// Private: the callflow that marked `used_by`, so repeated or late events
        /// only unmark what that callflow marked.
        pub used_by_id: Option<String>,
        /// Carrier module (`local` for the operator's inventory).
        pub carrier: String,
        pub ported_in: bool,
        pub port_id: Option<String>,
        /// JSON array of account ids, most recent first.
        #[sea_orm(column_type = "Text")]
        pub reserve_history: String,
        /// JSON object: the public fields a client set.
        #[sea_orm(column_type = "Text")]
        pub fields: String,
        /// JSON object: locality metadata from the inventory import.
        #[sea_orm(column_type = "Text")]
        pub locality: String,
        /// ISO 3166 alpha-2 country, empty when unknown.
        pub country: String,
        pub created: i64,
        pub modified: i64,
        pub rev: i64,
        /// Private: `<requested account>:<creation id>` of the request that last took,
        /// moved or released the number (the gateway's id), so that the same request
        /// sent again (its first attempt's replica died before answering) answers as
        /// it did instead of refusing. Cleared by any other change of the holding.
        pub last_request: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use entity::Model as NumberRow;

fn object(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

impl NumberRow {
    /// A new row (revision 0 until saved).
    pub fn new(number: &str, holding: &Holding, now: i64) -> Self {
        let country = crossbar_numbering::info(number)
            .and_then(|info| info.country)
            .unwrap_or_default();
        let mut row = Self {
            number: number.to_string(),
            state: String::new(),
            assigned_to: None,
            used_by: None,
            used_by_id: None,
            carrier: "local".into(),
            ported_in: false,
            port_id: None,
            reserve_history: "[]".into(),
            fields: "{}".into(),
            locality: "{}".into(),
            country,
            created: now,
            modified: now,
            rev: 0,
            last_request: None,
        };
        row.set_holding(holding);
        row
    }

    pub fn state(&self) -> NumberState {
        NumberState::parse(&self.state).unwrap_or(NumberState::Deleted)
    }

    pub fn holding(&self) -> Holding {
        Holding {
            state: self.state(),
            assigned_to: self.assigned_to.clone(),
            reserve_history: serde_json::from_str(&self.reserve_history).unwrap_or_default(),
        }
    }

    /// Sets state, holder and history; forgets the request that set the last ones (a
    /// caller acting for a request marks it again after).
    pub fn set_holding(&mut self, holding: &Holding) {
        self.last_request = None;
        self.state = holding.state.as_str().to_string();
        self.assigned_to = holding.assigned_to.clone();
        self.reserve_history =
            serde_json::to_string(&holding.reserve_history).unwrap_or_else(|_| "[]".into());
    }

    pub fn fields(&self) -> Map<String, Value> {
        object(&self.fields)
    }

    pub fn set_fields(&mut self, fields: Map<String, Value>) {
        self.fields = Value::Object(fields).to_string();
    }

    pub fn locality(&self) -> Map<String, Value> {
        object(&self.locality)
    }
}

/// Inserts `row` (when `expected_rev` is `None`) or updates it if its revision is still
/// `expected_rev`, and appends `event`, inside the caller's transaction. A lost race
/// answers 409 `datastore_conflict`.
pub async fn save<C: ConnectionTrait>(
    conn: &C,
    mut row: NumberRow,
    expected_rev: Option<i64>,
    event: Option<&Event>,
) -> Result<NumberRow, ApiError> {
    row.rev = expected_rev.map_or(1, |rev| rev + 1);
    let active = entity::ActiveModel {
        number: Set(row.number.clone()),
        state: Set(row.state.clone()),
        assigned_to: Set(row.assigned_to.clone()),
        used_by: Set(row.used_by.clone()),
        used_by_id: Set(row.used_by_id.clone()),
        carrier: Set(row.carrier.clone()),
        ported_in: Set(row.ported_in),
        port_id: Set(row.port_id.clone()),
        reserve_history: Set(row.reserve_history.clone()),
        fields: Set(row.fields.clone()),
        locality: Set(row.locality.clone()),
        country: Set(row.country.clone()),
        created: Set(row.created),
        modified: Set(row.modified),
        rev: Set(row.rev),
        last_request: Set(row.last_request.clone()),
    };
    match expected_rev {
        None => {
            entity::Entity::insert(active)
                .exec_without_returning(conn)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        ApiError::Conflict
                    } else {
                        db_error(e)
                    }
                })?;
        }
        Some(rev) => {
            let updated = entity::Entity::update_many()
                .set(active)
                .filter(entity::Column::Number.eq(row.number.clone()))
                .filter(entity::Column::Rev.eq(rev))
                .exec(conn)
                .await
                .map_err(db_error)?;
            if updated.rows_affected != 1 {
                return Err(ApiError::Conflict);
            }
        }
    }
    if let Some(event) = event {
        crossbar_events::outbox::append(conn, event)
            .await
            .map_err(db_error)?;
    }
    Ok(row)
}

/// Removes a number for good (hard delete, or release of a number nobody stocks).
pub async fn remove<C: ConnectionTrait>(
    conn: &C,
    number: &str,
    expected_rev: i64,
    event: Option<&Event>,
) -> Result<(), ApiError> {
    let deleted = entity::Entity::delete_many()
        .filter(entity::Column::Number.eq(number))
        .filter(entity::Column::Rev.eq(expected_rev))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if deleted.rows_affected != 1 {
        return Err(ApiError::Conflict);
    }
    if let Some(event) = event {
        crossbar_events::outbox::append(conn, event)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    number: &str,
) -> Result<Option<NumberRow>, ApiError> {
    entity::Entity::find_by_id(number.to_string())
        .one(conn)
        .await
        .map_err(db_error)
}

pub async fn find_many<C: ConnectionTrait>(
    conn: &C,
    numbers: &[String],
) -> Result<Vec<NumberRow>, ApiError> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(500) {
        out.extend(
            entity::Entity::find()
                .filter(entity::Column::Number.is_in(chunk.iter().cloned()))
                .all(conn)
                .await
                .map_err(db_error)?,
        );
    }
    Ok(out)
}

/// The smallest string greater than every string starting with `prefix` (for a range
/// scan): the last character incremented. Prefixes here are `+` and digits.
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).unwrap_or_default();
        }
    }
    "\u{7f}".into()
}

/// Available inventory numbers starting with `e164_prefix`, in number order: a range
/// scan of index (`state`, `number`).
pub async fn search_available<C: ConnectionTrait>(
    conn: &C,
    e164_prefix: &str,
    quantity: u64,
    offset: u64,
) -> Result<Vec<NumberRow>, ApiError> {
    entity::Entity::find()
        .filter(entity::Column::State.eq(NumberState::Available.as_str()))
        .filter(entity::Column::Number.gte(e164_prefix))
        .filter(entity::Column::Number.lt(prefix_upper_bound(e164_prefix)))
        .order_by_asc(entity::Column::Number)
        .offset(offset)
        .limit(quantity)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Every number held by `account_id` (index `assigned_to`, `number`).
pub async fn by_account<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
) -> Result<Vec<NumberRow>, ApiError> {
    entity::Entity::find()
        .filter(entity::Column::AssignedTo.eq(account_id))
        .order_by_asc(entity::Column::Number)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Numbers of `account_id` marked by the callflow `callflow_id`.
pub async fn used_by_callflow<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    callflow_id: &str,
) -> Result<Vec<NumberRow>, ApiError> {
    entity::Entity::find()
        .filter(entity::Column::AssignedTo.eq(account_id))
        .filter(entity::Column::UsedById.eq(callflow_id))
        .all(conn)
        .await
        .map_err(db_error)
}

/// One inventory line of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryLine {
    pub number: String,
    pub locality: Map<String, Value>,
}

/// Adds inventory numbers as `available` on the local carrier; numbers the system
/// already knows are left as they are. Returns (added, already present).
pub async fn import<C: ConnectionTrait>(
    conn: &C,
    lines: &[InventoryLine],
    now: i64,
) -> Result<(u64, u64), ApiError> {
    let mut added = 0;
    for chunk in lines.chunks(500) {
        let rows: Vec<entity::ActiveModel> = chunk
            .iter()
            .map(|line| {
                let mut row = NumberRow::new(
                    &line.number,
                    &Holding {
                        state: NumberState::Available,
                        assigned_to: None,
                        reserve_history: Vec::new(),
                    },
                    now,
                );
                row.locality = Value::Object(line.locality.clone()).to_string();
                row.rev = 1;
                entity::ActiveModel {
                    number: Set(row.number),
                    state: Set(row.state),
                    assigned_to: Set(None),
                    used_by: Set(None),
                    used_by_id: Set(None),
                    carrier: Set(row.carrier),
                    ported_in: Set(false),
                    port_id: Set(None),
                    reserve_history: Set(row.reserve_history),
                    fields: Set(row.fields),
                    locality: Set(row.locality),
                    country: Set(row.country),
                    created: Set(now),
                    modified: Set(now),
                    rev: Set(1),
                    last_request: Set(None),
                }
            })
            .collect();
        let inserted = entity::Entity::insert_many(rows)
            .on_conflict(
                sea_query::OnConflict::column(entity::Column::Number)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await
            .map_err(db_error)?;
        added += inserted;
    }
    Ok((added, lines.len() as u64 - added))
}

#[derive(DeriveIden)]
enum Numbers {
    Table,
    Number,
    State,
    AssignedTo,
    UsedBy,
    UsedById,
    Carrier,
    PortedIn,
    PortId,
    ReserveHistory,
    Fields,
    Locality,
    Country,
    Created,
    Modified,
    Rev,
    LastRequest,
}

/// Creates `numbers` and its two indexes.
pub struct NumbersMigration;

impl MigrationName for NumbersMigration {
    fn name(&self) -> &str {
        "m0201_numbers_inventory"
    }
}

#[async_trait]
impl MigrationTrait for NumbersMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Numbers::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Numbers::Number)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Numbers::State).string().not_null())
                    .col(ColumnDef::new(Numbers::AssignedTo).string().null())
                    .col(ColumnDef::new(Numbers::UsedBy).string().null())
                    .col(ColumnDef::new(Numbers::UsedById).string().null())
                    .col(ColumnDef::new(Numbers::Carrier).string().not_null())
                    .col(ColumnDef::new(Numbers::PortedIn).boolean().not_null())
                    .col(ColumnDef::new(Numbers::PortId).string().null())
                    .col(ColumnDef::new(Numbers::ReserveHistory).text().not_null())
                    .col(ColumnDef::new(Numbers::Fields).text().not_null())
                    .col(ColumnDef::new(Numbers::Locality).text().not_null())
                    .col(ColumnDef::new(Numbers::Country).string().not_null())
                    .col(ColumnDef::new(Numbers::Created).big_integer().not_null())
                    .col(ColumnDef::new(Numbers::Modified).big_integer().not_null())
                    .col(ColumnDef::new(Numbers::Rev).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("numbers_by_state")
                    .table(Numbers::Table)
                    .col(Numbers::State)
                    .col(Numbers::Number)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("numbers_by_account")
                    .table(Numbers::Table)
                    .col(Numbers::AssignedTo)
                    .col(Numbers::Number)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Numbers::Table).to_owned())
            .await
    }
}

/// Adds `last_request` (replayed requests: see [`NumberRow::last_request`]).
pub struct NumbersLastRequestMigration;

impl MigrationName for NumbersLastRequestMigration {
    fn name(&self) -> &str {
        "m0203_numbers_last_request"
    }
}

#[async_trait]
impl MigrationTrait for NumbersLastRequestMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Numbers::Table)
                    .add_column(ColumnDef::new(Numbers::LastRequest).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Numbers::Table)
                    .drop_column(Numbers::LastRequest)
                    .to_owned(),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bound_of_a_prefix() {
        assert_eq!(prefix_upper_bound("+1415"), "+1416");
        assert_eq!(prefix_upper_bound("+1419"), "+141:");
        assert!("+14159999999" < prefix_upper_bound("+1415").as_str());
    }
}
