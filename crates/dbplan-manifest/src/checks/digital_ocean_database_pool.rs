use super::{Check, Checker};
use dbplan_core::kinds::digital_ocean_database_pool::DigitalOceanDatabaseConnectionPoolSpec;

impl Check for DigitalOceanDatabaseConnectionPoolSpec {
    fn check(&self, _checker: &mut Checker<'_>) {}
}
