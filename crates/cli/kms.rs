//! The state's key service: AWS KMS (`dbplan_provider_aws::kms`) as `dbplan_state`'s
//! [`KeyService`], registered once at start. The client reaches AWS only when a state's key
//! is wrapped by KMS, or `DBPLAN_STATE_KMS_KEY`/`DBPLAN_STATE_NEW_KMS_KEY` ask for one.

use dbplan_provider_aws::kms::Kms;
use dbplan_state::{DataKey, GeneratedKey, KeyService};
use std::sync::Arc;

struct AwsKms(Kms);

impl KeyService for AwsKms {
    fn generate(&self, key_id: &str, context: &[(&str, &str)]) -> Result<GeneratedKey, String> {
        let made = self.0.generate_data_key(key_id, context)?;
        Ok(GeneratedKey {
            plaintext: DataKey::from_bytes(&made.plaintext.0)
                .ok_or_else(|| "AWS KMS answered without a 32-byte data key".to_owned())?,
            wrapped: made.wrapped,
            key_arn: made.key_arn,
        })
    }

    fn unwrap(
        &self,
        key_arn: &str,
        wrapped: &[u8],
        context: &[(&str, &str)],
    ) -> Result<DataKey, String> {
        let plain = self.0.decrypt(key_arn, wrapped, context)?;
        DataKey::from_bytes(&plain.0)
            .ok_or_else(|| "AWS KMS answered without a 32-byte data key".to_owned())
    }

    fn key_arn(&self, key_id: &str) -> Result<String, String> {
        self.0.key_arn(key_id)
    }
}

/// Registers AWS KMS as the key service of every state this process opens.
pub fn register() {
    dbplan_state::set_key_service(Some(Arc::new(AwsKms(Kms::new()))));
}
