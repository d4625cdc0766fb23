//! The validation stage's options, from the pipeline's `[validation]` section.

use crate::compile::Plan;
use cadastra_rules::RuleOptions;

pub fn options(plan: &Plan) -> RuleOptions {
    RuleOptions {
        rules: plan.validation.rules.clone(),
        disabled: plan.validation.disabled.clone(),
    }
}
