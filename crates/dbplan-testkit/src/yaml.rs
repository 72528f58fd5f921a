//! Generated YAML for the loader's limit tests and the `yaml-limits` benchmark, so that both
//! measure the same input.

use std::fmt::Write;

/// `count` small documents (a DigitalOcean VPC each) in one file.
pub fn small_documents(count: usize) -> String {
    let mut text = String::with_capacity(count * 130);
    for index in 0..count {
        let _ = write!(
            text,
            "apiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanVpc\nmetadata: {{name: vpc-{index}}}\nspec: {{region: nyc3}}\n---\n"
        );
    }
    text
}

/// Ordinary manifests (an AWS VPC, an Aurora cluster, a DigitalOcean cluster per round), no
/// aliases, until `bytes` are written.
pub fn ordinary_manifests(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 2048);
    let mut index = 0;
    while text.len() < bytes {
        let octet = index % 250;
        let _ = write!(
            text,
            r#"apiVersion: aws.project-planton.org/v1
kind: AwsVpc
metadata: {{name: vpc-{index}}}
spec:
  vpcCidr: 10.{octet}.0.0/16
  availabilityZones: [us-east-1a, us-east-1b, us-east-1c]
  subnetsPerAvailabilityZone: 1
  subnetSize: 256
---
apiVersion: aws.project-planton.org/v1
kind: AwsRdsCluster
metadata: {{name: aurora-{index}, labels: {{env: prod, team: payments}}}}
spec:
  engine: aurora-postgresql
  engineVersion: "16.4"
  subnetIds:
    - valueFrom: {{kind: AwsVpc, name: vpc-{index}, fieldPath: "status.outputs.private_subnets.[*].id"}}
  vpcId: {{valueFrom: {{kind: AwsVpc, name: vpc-{index}}}}}
  manageMasterUserPassword: true
  storageEncrypted: true
  deletionProtection: true
  backupRetentionPeriod: 14
  preferredBackupWindow: "03:00-03:30"
  preferredMaintenanceWindow: "sun:05:00-sun:05:30"
  enabledCloudwatchLogsExports: [postgresql]
---
apiVersion: digital-ocean.project-planton.org/v1
kind: DigitalOceanDatabaseCluster
metadata: {{name: do-pg-{index}}}
spec:
  clusterName: do-pg-{index}
  engine: pg
  engineVersion: "16"
  region: nyc3
  sizeSlug: db-s-2vcpu-4gb
  nodeCount: 2
  maintenanceWindow: {{day: tuesday, hour: "02:00"}}
---
"#
        );
        index += 1;
    }
    text
}
