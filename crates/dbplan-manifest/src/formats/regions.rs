//! Where AWS objects live: region codes and Availability Zones.

use super::{FormatError, digits, error};

/// An AWS region code such as `us-east-1`, `eu-central-2` or `us-gov-west-1`.
pub fn check_aws_region(text: &str) -> Result<(), FormatError> {
    if parse_region(text) {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not an AWS region code"),
            "write the region's code, e.g. `us-east-1` or `eu-central-1`",
        ))
    }
}

/// `area(-gov|-iso…)?-direction-number`, all lowercase.
fn parse_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    if parts.len() < 3 || parts.len() > 4 {
        return false;
    }
    let lower = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    parts[0].len() == 2 && words.iter().all(|part| lower(part)) && digits(number).is_some()
}

/// An Availability Zone name (`us-east-1a`, a Local Zone such as `us-west-2-lax-1a`) or zone ID
/// (`use1-az1`).
pub fn check_availability_zone(text: &str) -> Result<(), FormatError> {
    let zone_id = text.split_once("-az").is_some_and(|(region, number)| {
        region.len() >= 3
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && digits(number).is_some()
    });
    let zone_name = text
        .strip_suffix(|c: char| c.is_ascii_lowercase())
        .is_some_and(|region| {
            parse_region(region)
                || region
                    .split_once('-')
                    .and_then(|_| region.rsplit_once('-'))
                    .is_some_and(|(head, number)| {
                        // Local Zones: `<region>-<city>-<n>`.
                        digits(number).is_some()
                            && head.rsplit_once('-').is_some_and(|(region, city)| {
                                parse_region(region)
                                    && !city.is_empty()
                                    && city.bytes().all(|b| b.is_ascii_lowercase())
                            })
                    })
        });
    if zone_id || zone_name {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not an Availability Zone"),
            "write the zone's name, e.g. `us-east-1a`, or its zone ID, e.g. `use1-az1`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_zones() {
        for region in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(check_aws_region(region).is_ok(), "{region}");
        }
        for region in ["US East", "us-east", "useast1", "us-east-1a"] {
            assert!(check_aws_region(region).is_err(), "{region}");
        }
        for zone in [
            "us-east-1a",
            "use1-az1",
            "us-west-2-lax-1a",
            "eu-central-1c",
        ] {
            assert!(check_availability_zone(zone).is_ok(), "{zone}");
        }
        for zone in ["US East", "us-east-1", "a"] {
            assert!(check_availability_zone(zone).is_err(), "{zone}");
        }
    }
}
