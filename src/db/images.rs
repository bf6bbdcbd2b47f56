//! Queries on images (`/v1/images`).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, NotSet, QueryFilter,
};

use super::entities::image;
use super::is_unique_violation;
use super::paging::{self, Paging};
use crate::error::{Error, Result};

pub use image::Model as Image;

/// Image states.
pub const QUEUED: &str = "queued";
pub const SAVING: &str = "saving";
pub const ACTIVE: &str = "active";
pub const ERROR: &str = "error";

/// Columns a client may sort images by.
pub const SORTABLE: &[&str] = &[
    "id",
    "uuid",
    "name",
    "owner",
    "visibility",
    "status",
    "size",
    "created_at",
    "updated_at",
];

/// Who is asking, for visibility: `None` sees everything (an administrator).
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub project: Option<String>,
}

/// Filters of an image list.
#[derive(Debug, Default, Clone)]
pub struct ImageFilter {
    pub name: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
    pub visibility: Option<String>,
}

/// Can `viewer` see (and deploy) `img`? Owners, everyone for public images, and the
/// projects a shared image is shared with.
pub fn visible_to(img: &Image, viewer: &Viewer) -> bool {
    let Some(project) = &viewer.project else {
        return true;
    };
    img.visibility == "public"
        || img.owner.as_deref() == Some(project.as_str())
        || (img.visibility == "shared"
            && img
                .shared_with
                .as_array()
                .is_some_and(|a| a.iter().any(|p| p.as_str() == Some(project))))
}

/// The SQL form of [`visible_to`], for lists.
fn visibility_condition<C: ConnectionTrait>(db: &C, viewer: &Viewer) -> Condition {
    let Some(project) = &viewer.project else {
        return Condition::all();
    };
    // A JSON list of strings holds `"project"` when the project is in it.
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => "CAST(shared_with AS TEXT) LIKE ?",
        DbBackend::MySql => "CAST(shared_with AS CHAR) LIKE ?",
        _ => "shared_with LIKE ?",
    };
    let shared = Expr::cust_with_values(sql, [format!("%\"{}\"%", escape_like(project))]);
    Condition::any()
        .add(image::Column::Visibility.eq("public"))
        .add(image::Column::Owner.eq(project.clone()))
        .add(
            Condition::all()
                .add(image::Column::Visibility.eq("shared"))
                .add(shared),
        )
}

fn escape_like(s: &str) -> String {
    s.replace(['%', '_', '"', '\\'], "")
}

/// One page of the images `viewer` can see, matching `f`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    f: &ImageFilter,
    p: Paging<'_, Image>,
) -> Result<Vec<Image>> {
    let mut c = Condition::all().add(visibility_condition(db, viewer));
    if let Some(v) = &f.name {
        c = c.add(image::Column::Name.eq(v.clone()));
    }
    if let Some(v) = &f.status {
        c = c.add(image::Column::Status.eq(v.clone()));
    }
    if let Some(v) = &f.owner {
        c = c.add(image::Column::Owner.eq(v.clone()));
    }
    if let Some(v) = &f.visibility {
        c = c.add(image::Column::Visibility.eq(v.clone()));
    }
    let rows = paging::page::<image::Entity, _>(db, c, image::Column::Id, p).await?;
    // The SQL filter is a superset on odd project names; the exact rule decides.
    Ok(rows.into_iter().filter(|i| visible_to(i, viewer)).collect())
}

/// An image by UUID.
pub async fn by_uuid<C: ConnectionTrait>(db: &C, uuid: &str) -> Result<Option<Image>> {
    Ok(image::Entity::find()
        .filter(image::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// Images with a name.
pub async fn by_name<C: ConnectionTrait>(db: &C, name: &str) -> Result<Vec<Image>> {
    Ok(image::Entity::find()
        .filter(image::Column::Name.eq(name))
        .all(db)
        .await?)
}

/// The image stored as `pool/rbd_image`, if m2 knows it.
pub async fn by_rbd<C: ConnectionTrait>(
    db: &C,
    pool: &str,
    rbd_image: &str,
) -> Result<Option<Image>> {
    Ok(image::Entity::find()
        .filter(image::Column::Pool.eq(pool))
        .filter(image::Column::RbdImage.eq(rbd_image))
        .one(db)
        .await?)
}

/// Inserts an image record.
pub async fn insert<C: ConnectionTrait>(db: &C, img: Image) -> Result<Image> {
    let mut am = img.clone().into_active_model();
    am.id = NotSet;
    am.insert(db).await.map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!(
                "An image stored as {}/{} is registered already.",
                img.pool, img.rbd_image
            ))
        } else {
            e.into()
        }
    })
}

/// Writes every column of an image and bumps `updated_at`.
pub async fn save<C: ConnectionTrait>(db: &C, img: &mut Image) -> Result<()> {
    img.updated_at = Some(chrono::Utc::now());
    let am = img.clone().into_active_model().reset_all();
    am.update(db).await?;
    Ok(())
}

/// Moves a `queued` image to `saving`; false when it is not `queued` (an upload
/// runs already, or ran).
pub async fn claim_upload<C: ConnectionTrait>(db: &C, id: i64) -> Result<bool> {
    let r = image::Entity::update_many()
        .col_expr(image::Column::Status, Expr::value(SAVING))
        .filter(image::Column::Id.eq(id))
        .filter(image::Column::Status.eq(QUEUED))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Images in one status.
pub async fn with_status<C: ConnectionTrait>(db: &C, status: &str) -> Result<Vec<Image>> {
    Ok(image::Entity::find()
        .filter(image::Column::Status.eq(status))
        .all(db)
        .await?)
}

/// Deletes an image record.
pub async fn delete<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    image::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn img(owner: Option<&str>, visibility: &str, shared: serde_json::Value) -> Image {
        Image {
            id: 1,
            uuid: "u".into(),
            name: None,
            owner: owner.map(str::to_owned),
            visibility: visibility.into(),
            shared_with: shared,
            status: ACTIVE.into(),
            disk_format: None,
            size: None,
            checksum: None,
            pool: "p".into(),
            rbd_image: "i".into(),
            snapshot: "s".into(),
            source: "upload".into(),
            source_node: None,
            last_error: None,
            extra: json!({}),
            created_at: chrono::Utc::now(),
            updated_at: None,
        }
    }

    #[test]
    fn visibility_rules() {
        let admin = Viewer { project: None };
        let a = Viewer {
            project: Some("a".into()),
        };
        let b = Viewer {
            project: Some("b".into()),
        };
        let c = Viewer {
            project: Some("c".into()),
        };
        let private = img(Some("a"), "private", json!([]));
        assert!(visible_to(&private, &admin));
        assert!(visible_to(&private, &a));
        assert!(!visible_to(&private, &b));
        let public = img(Some("a"), "public", json!([]));
        assert!(visible_to(&public, &c));
        let shared = img(Some("a"), "shared", json!(["b"]));
        assert!(visible_to(&shared, &b));
        assert!(!visible_to(&shared, &c));
        // A private image keeps its share list without sharing.
        let private_listed = img(Some("a"), "private", json!(["b"]));
        assert!(!visible_to(&private_listed, &b));
    }
}
