//! Queries on deploy templates and their steps.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set, TransactionSession, TransactionTrait,
};
use serde_json::Value;

use super::entities::{deploy_template, deploy_template_step};
use super::is_unique_violation;
use super::paging::{self, Paging};
use crate::error::{Error, Result};

pub use deploy_template::Model as TemplateRow;
pub use deploy_template_step::Model as StepRow;

/// One step of a template, as clients give it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub interface: String,
    pub step: String,
    pub args: Value,
    pub priority: i32,
}

/// A template with its steps, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub row: TemplateRow,
    pub steps: Vec<Step>,
}

/// Keys a client may sort templates by.
pub const SORTABLE: &[&str] = &["id", "uuid", "name", "created_at", "updated_at"];

fn to_step(s: StepRow) -> Step {
    Step {
        interface: s.interface,
        step: s.step,
        args: s.args,
        priority: s.priority,
    }
}

async fn steps_of<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<HashMap<i64, Vec<Step>>> {
    let mut out: HashMap<i64, Vec<Step>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = deploy_template_step::Entity::find()
            .filter(deploy_template_step::Column::DeployTemplateId.is_in(chunk.iter().copied()))
            .order_by_asc(deploy_template_step::Column::Id)
            .all(db)
            .await?;
        for r in rows {
            out.entry(r.deploy_template_id)
                .or_default()
                .push(to_step(r));
        }
    }
    Ok(out)
}

async fn with_steps<C: ConnectionTrait>(db: &C, rows: Vec<TemplateRow>) -> Result<Vec<Template>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut steps = steps_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| Template {
            steps: steps.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// Lists templates, ordered and paged.
pub async fn list<C: ConnectionTrait>(db: &C, p: Paging<'_, TemplateRow>) -> Result<Vec<Template>> {
    let rows = paging::page::<deploy_template::Entity, C>(
        db,
        Condition::all(),
        deploy_template::Column::Id,
        p,
    )
    .await?;
    with_steps(db, rows).await
}

/// A template row by UUID.
pub async fn row_by_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<Option<TemplateRow>> {
    Ok(deploy_template::Entity::find()
        .filter(deploy_template::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// A template by UUID or name; 404 when absent.
pub async fn get<C: ConnectionTrait>(db: &C, ident: &str) -> Result<Template> {
    let row = match uuid::Uuid::try_parse(ident) {
        Ok(u) => row_by_uuid(db, &u.hyphenated().to_string()).await?,
        Err(_) => {
            deploy_template::Entity::find()
                .filter(deploy_template::Column::Name.eq(ident))
                .one(db)
                .await?
        }
    }
    .ok_or_else(|| Error::not_found("Deploy template", ident))?;
    let mut all = with_steps(db, vec![row]).await?;
    all.pop()
        .ok_or_else(|| Error::Internal("deploy template vanished".into()))
}

fn conflict(e: sea_orm::DbErr, row: &TemplateRow) -> Error {
    if is_unique_violation(&e) {
        if e.to_string().contains("name") {
            return Error::Conflict(format!(
                "A deploy template with name {} already exists.",
                row.name
            ));
        }
        return Error::Conflict(format!(
            "A deploy template with UUID {} already exists.",
            row.uuid
        ));
    }
    e.into()
}

async fn insert_steps<C: ConnectionTrait>(db: &C, template_id: i64, steps: &[Step]) -> Result<()> {
    let now = Utc::now();
    for s in steps {
        deploy_template_step::ActiveModel {
            deploy_template_id: Set(template_id),
            interface: Set(s.interface.clone()),
            step: Set(s.step.clone()),
            args: Set(s.args.clone()),
            priority: Set(s.priority),
            created_at: Set(now),
            updated_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Inserts a template and its steps.
pub async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    row: TemplateRow,
    steps: Vec<Step>,
) -> Result<Template> {
    let txn = db.begin().await?;
    let mut am = row.clone().into_active_model();
    am.id = sea_orm::NotSet;
    let saved = am.insert(&txn).await.map_err(|e| conflict(e, &row))?;
    insert_steps(&txn, saved.id, &steps).await?;
    txn.commit().await?;
    Ok(Template { row: saved, steps })
}

/// Writes a template's row and replaces its steps.
pub async fn update<C: ConnectionTrait + TransactionTrait>(db: &C, t: &mut Template) -> Result<()> {
    t.row.updated_at = Some(Utc::now());
    let txn = db.begin().await?;
    let am = t.row.clone().into_active_model().reset_all();
    am.update(&txn).await.map_err(|e| conflict(e, &t.row))?;
    deploy_template_step::Entity::delete_many()
        .filter(deploy_template_step::Column::DeployTemplateId.eq(t.row.id))
        .exec(&txn)
        .await?;
    insert_steps(&txn, t.row.id, &t.steps).await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes a template and its steps.
pub async fn delete<C: ConnectionTrait + TransactionTrait>(db: &C, id: i64) -> Result<()> {
    let txn = db.begin().await?;
    deploy_template_step::Entity::delete_many()
        .filter(deploy_template_step::Column::DeployTemplateId.eq(id))
        .exec(&txn)
        .await?;
    deploy_template::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
