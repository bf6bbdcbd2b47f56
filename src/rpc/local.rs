//! The in-process transport of `m2 standalone`: a direct call into the conductor.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{Handler, Request, Transport};
use crate::error::Result;

/// Calls a conductor living in the same process.
pub struct LocalTransport {
    handler: Arc<dyn Handler>,
}

impl LocalTransport {
    pub fn new(handler: Arc<dyn Handler>) -> Self {
        LocalTransport { handler }
    }
}

#[async_trait]
impl Transport for LocalTransport {
    async fn call(&self, req: Request) -> Result<Value> {
        self.handler.handle(req).await
    }
}
