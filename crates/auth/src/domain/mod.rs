//! The rules of the auth service: request checks, login flow, throttling and the
//! answers' data. No HTTP, no SQL.

pub mod key_file;
pub mod keys;
pub mod login;
pub mod requests;
pub mod session;
pub mod throttle;

pub use login::{Authenticator, Issued, API_AUTH_METHOD, USER_AUTH_METHOD};
pub use requests::{ApiAuthRequest, UserAuthRequest};
pub use throttle::{LoginThrottle, ThrottleConfig};
