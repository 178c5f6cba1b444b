//! An S3 API server in the test process (s3s-fs on an ephemeral port, with access keys): its
//! objects are files under `root/BUCKET`, their modification times the objects' Last-Modified.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub const BUCKET: &str = "dds-documents";
pub const ACCESS_KEY_ID: &str = "dds-test";
pub const SECRET_ACCESS_KEY: &str = "dds-test-secret";

pub struct S3Server {
    pub root: tempfile::TempDir,
    pub endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        S3Server {
            root,
            endpoint,
            task,
        }
    }
}

impl S3Server {
    /// The `[object_store]` table of a `dds.toml` for this server, keys under `prefix`.
    pub fn object_store_toml(&self, prefix: &str) -> String {
        format!(
            "[object_store]\nurl = \"s3://{BUCKET}/{prefix}\"\nendpoint = \"{}\"\nallow_http = true\naccess_key_id = \"{ACCESS_KEY_ID}\"\nsecret_access_key = \"{SECRET_ACCESS_KEY}\"\n",
            self.endpoint
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
