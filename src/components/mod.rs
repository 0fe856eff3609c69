//! Components shared by several pages, one a file.

mod bottom_nav;
mod change_password;
mod field_error;
mod form_field;
mod import_backup;
mod leave_guard;
mod lock_panel;
mod lock_screen;
mod section_page;
mod sync_panel;
mod update_banner;
mod windowed;

pub use bottom_nav::BottomNav;
pub use change_password::ChangePasswordForm;
pub use field_error::FieldError;
pub use form_field::{TextField, problem_text};
pub use import_backup::ImportBackup;
pub use leave_guard::{LeaveDialog, LeaveGuard, mark_on_choice, use_leave_guard};
pub use lock_panel::LockPanel;
pub use lock_screen::LockScreen;
pub use section_page::SectionPage;
pub use sync_panel::{LoginForm, SyncBadge, SyncPanel, local_time};
pub use update_banner::UpdateBanner;
pub use windowed::{Rows, Windowed, print_all};
