//! Customers: an agency's clients, each grouping some of the workspace's
//! accounts. Anyone in the workspace reads them; signed-in owners and
//! editors manage them and say which accounts belong to whom.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use herald_core::api_key::Scope;
use herald_store::CustomerRow;
use herald_store::repo::{Customers, Integrations};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::views::IntegrationView;

const MANAGING: &str = "managing customers";

/// `POST /customers` and `PATCH /customers/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerInput {
    /// 1–100 characters, unique in the workspace.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
}

/// `PUT /integrations/{id}/customer`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignCustomerInput {
    /// The customer the account belongs to; `null` for none.
    pub customer_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub id: Uuid,
    pub name: String,
    /// Accounts that belong to this customer.
    pub integration_count: i64,
    pub created_at: DateTime<Utc>,
}

fn view(row: &CustomerRow, counts: &HashMap<Uuid, i64>) -> CustomerView {
    CustomerView {
        id: row.id,
        name: row.name.clone(),
        integration_count: counts.get(&row.id).copied().unwrap_or(0),
        created_at: row.created_at,
    }
}

impl App {
    pub async fn list_customers(&self, caller: &Caller) -> AppResult<Vec<CustomerView>> {
        caller.require(Scope::IntegrationsRead)?;
        let customers = Customers(self.store.conn());
        let counts: HashMap<Uuid, i64> = customers.account_counts(caller.workspace_id).await?.into_iter().collect();
        Ok(customers.list(caller.workspace_id).await?.iter().map(|row| view(row, &counts)).collect())
    }

    /// A customer of the caller's workspace, or 404.
    pub(crate) async fn customer(&self, caller: &Caller, id: Uuid) -> AppResult<CustomerRow> {
        Customers(self.store.conn()).get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("customer"))
    }

    pub async fn create_customer(&self, caller: &Caller, input: CustomerInput) -> AppResult<CustomerView> {
        caller.require_account_manager(MANAGING)?;
        let name = super::name("name", &input.name)?;
        self.refuse_taken_customer_name(caller, &name, None).await?;
        let now = self.now();
        let row = Customers(self.store.conn())
            .insert(CustomerRow {
                id: Uuid::now_v7(),
                workspace_id: caller.workspace_id,
                name,
                created_at: now,
                updated_at: now,
            })
            .await?;
        Ok(view(&row, &HashMap::new()))
    }

    pub async fn rename_customer(&self, caller: &Caller, id: Uuid, input: CustomerInput) -> AppResult<CustomerView> {
        caller.require_account_manager(MANAGING)?;
        let mut row = self.customer(caller, id).await?;
        let name = super::name("name", &input.name)?;
        self.refuse_taken_customer_name(caller, &name, Some(id)).await?;
        row.name = name;
        row.updated_at = self.now();
        let customers = Customers(self.store.conn());
        let row = customers.save(row).await?;
        let counts: HashMap<Uuid, i64> = customers.account_counts(caller.workspace_id).await?.into_iter().collect();
        Ok(view(&row, &counts))
    }

    /// Deletes a customer: its accounts stay, belonging to no one.
    pub async fn delete_customer(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require_account_manager(MANAGING)?;
        let txn = self.store.begin_write().await?;
        let customers = Customers(&txn);
        customers.release_integrations(caller.workspace_id, id).await?;
        if !customers.delete(caller.workspace_id, id).await? {
            return Err(AppError::NotFound("customer"));
        }
        txn.commit().await.map_err(AppError::internal)?;
        Ok(())
    }

    /// Says which customer an account belongs to (or none).
    pub async fn assign_customer(
        &self,
        caller: &Caller,
        integration_id: Uuid,
        input: AssignCustomerInput,
    ) -> AppResult<IntegrationView> {
        caller.require_account_manager(MANAGING)?;
        if let Some(customer_id) = input.customer_id {
            // Another workspace's customer is as unknown as a made-up id.
            Customers(self.store.conn()).get(caller.workspace_id, customer_id).await?.ok_or_else(|| {
                herald_core::ValidationError::new("customerId", "is not a customer of this workspace")
            })?;
        }
        if !Customers(self.store.conn())
            .assign(caller.workspace_id, integration_id, input.customer_id, self.now())
            .await?
        {
            return Err(AppError::NotFound("integration"));
        }
        let row = Integrations(self.store.conn())
            .get(caller.workspace_id, integration_id)
            .await?
            .ok_or(AppError::NotFound("integration"))?;
        Ok(IntegrationView::from_row(&row)?)
    }

    async fn refuse_taken_customer_name(&self, caller: &Caller, name: &str, except: Option<Uuid>) -> AppResult<()> {
        let taken = Customers(self.store.conn())
            .list(caller.workspace_id)
            .await?
            .into_iter()
            .any(|c| Some(c.id) != except && c.name.to_lowercase() == name.to_lowercase());
        if taken {
            return Err(
                herald_core::ValidationError::new("name", format!("a customer named “{name}” already exists")).into()
            );
        }
        Ok(())
    }
}
