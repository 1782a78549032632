//! The auth service's tables. Times are unix seconds (as in the JWT `exp`).

/// `signing_keys`: the Ed25519 keys tokens are signed with (newest signs, all verify).
pub mod signing_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        /// The PKCS#8 document, standard base64.
        #[sea_orm(column_type = "Text")]
        pub pkcs8: String,
        pub created: i64,
    }

    // No Debug with the private key in it.
    impl std::fmt::Debug for Model {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("SigningKey")
                .field("kid", &self.kid)
                .field("created", &self.created)
                .finish_non_exhaustive()
        }
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `revoked_tokens`: the deny-list, kept until the token would have expired anyway.
pub mod revoked_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "revoked_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub exp: i64,
        pub revoked_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
