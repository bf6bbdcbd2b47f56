//! Keyset pagination shared by the list queries: order by a column (then by id), and
//! start after a marker row.

use std::str::FromStr;

use sea_orm::sea_query::IntoCondition;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IdenStatic, ModelTrait, Order,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::error::{Error, Result};

/// How to order and cut a list of `M` rows.
#[derive(Debug, Clone, Copy)]
pub struct Paging<'a, M> {
    pub limit: u64,
    /// The last row of the previous page.
    pub marker: Option<&'a M>,
    /// Column name to sort by (already checked by the caller).
    pub sort_key: &'a str,
    pub descending: bool,
}

/// Rows of `E` matching `cond`, in the order and from the marker `p` asks for. `id` is
/// the primary key column, the tie-breaker.
pub async fn page<E, C>(
    db: &C,
    cond: Condition,
    id: E::Column,
    p: Paging<'_, E::Model>,
) -> Result<Vec<E::Model>>
where
    E: EntityTrait,
    E::Column: FromStr + ColumnTrait + Copy,
    C: ConnectionTrait,
{
    let col = E::Column::from_str(p.sort_key)
        .map_err(|_| Error::invalid(format!("Invalid sort key {}", p.sort_key)))?;
    let same = col.as_str() == id.as_str();
    let mut cond = cond;
    if let Some(m) = p.marker {
        let key = m.get(col);
        let mid = m.get(id);
        let after = if same {
            if p.descending {
                id.lt(mid).into_condition()
            } else {
                id.gt(mid).into_condition()
            }
        } else {
            let (beyond, tie) = if p.descending {
                (col.lt(key.clone()), id.lt(mid))
            } else {
                (col.gt(key.clone()), id.gt(mid))
            };
            Condition::any()
                .add(beyond)
                .add(Condition::all().add(col.eq(key)).add(tie))
        };
        cond = cond.add(after);
    }
    let order = if p.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let mut q = E::find().filter(cond).order_by(col, order.clone());
    if !same {
        q = q.order_by(id, order);
    }
    Ok(q.limit(p.limit).all(db).await?)
}
