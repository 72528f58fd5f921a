//! Networks: IPv4 and IPv6 CIDR blocks, and the ranges a DigitalOcean VPC accepts.

use super::{FormatError, digits, error};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An IPv4 network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix.min(32)))
        }
    }

    /// Whether `other` lies entirely inside this network.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        other.prefix >= self.prefix
            && u32::from(other.address) & Self::mask(self.prefix) == u32::from(self.address)
    }

    /// Whether the network is `0.0.0.0/0`, the whole Internet.
    pub fn is_any(&self) -> bool {
        self.prefix == 0
    }

    /// Whether the whole network is private address space (RFC 1918).
    pub fn is_private(&self) -> bool {
        PRIVATE_RANGES.iter().any(|range| range.contains(self))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

const PRIVATE_RANGES: [Ipv4Cidr; 3] = [
    Ipv4Cidr {
        address: Ipv4Addr::new(10, 0, 0, 0),
        prefix: 8,
    },
    Ipv4Cidr {
        address: Ipv4Addr::new(172, 16, 0, 0),
        prefix: 12,
    },
    Ipv4Cidr {
        address: Ipv4Addr::new(192, 168, 0, 0),
        prefix: 16,
    },
];

/// An IPv4 CIDR block such as `10.0.0.0/16`: four decimal octets, a prefix length of 0 to 32,
/// and no host bits set.
pub fn parse_ipv4_cidr(text: &str) -> Result<Ipv4Cidr, FormatError> {
    let help =
        "write an IPv4 network in CIDR notation, e.g. `10.0.0.0/16` (a single address is `/32`)";
    let Some((address, prefix)) = text.split_once('/') else {
        return Err(error(
            format!("{text:?} is not a CIDR block: the `/prefix` is missing"),
            help,
        ));
    };
    let Ok(address) = address.parse::<Ipv4Addr>() else {
        return Err(error(
            format!(
                "{text:?} is not a CIDR block: {address:?} is not an IPv4 address (four numbers 0-255)"
            ),
            help,
        ));
    };
    let Some(prefix) = digits(prefix).filter(|prefix| *prefix <= 32) else {
        return Err(error(
            format!("{text:?} is not a CIDR block: the prefix length must be 0 to 32"),
            help,
        ));
    };
    let prefix = prefix as u8;
    let network = Ipv4Addr::from(u32::from(address) & Ipv4Cidr::mask(prefix));
    if network != address {
        return Err(error(
            format!("{text:?} has host bits set: the network of a /{prefix} starts at {network}"),
            format!("write `{network}/{prefix}`"),
        ));
    }
    Ok(Ipv4Cidr { address, prefix })
}

/// An IPv6 network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Cidr {
    pub address: Ipv6Addr,
    pub prefix: u8,
}

/// An IPv6 CIDR block such as `2001:db8::/32` or `::/0`.
pub fn parse_ipv6_cidr(text: &str) -> Result<Ipv6Cidr, FormatError> {
    let help = "write an IPv6 network in CIDR notation, e.g. `2001:db8::/32` or `::/0`";
    let Some((address, prefix)) = text.split_once('/') else {
        return Err(error(
            format!("{text:?} is not an IPv6 CIDR block: the `/prefix` is missing"),
            help,
        ));
    };
    let Ok(address) = address.parse::<Ipv6Addr>() else {
        return Err(error(
            format!("{text:?} is not an IPv6 CIDR block: {address:?} is not an IPv6 address"),
            help,
        ));
    };
    let Some(prefix) = digits(prefix).filter(|prefix| *prefix <= 128) else {
        return Err(error(
            format!("{text:?} is not an IPv6 CIDR block: the prefix length must be 0 to 128"),
            help,
        ));
    };
    Ok(Ipv6Cidr {
        address,
        prefix: prefix as u8,
    })
}

/// A DigitalOcean VPC range: private (RFC 1918) and between `/16` and `/28` (DigitalOcean's VPC
/// API: "must be in range of private addresses as defined in RFC1918. It may not be smaller than
/// /28 nor larger than /16").
pub fn check_do_vpc_range(cidr: &Ipv4Cidr) -> Result<(), FormatError> {
    if !(16..=28).contains(&cidr.prefix) {
        return Err(error(
            format!(
                "a DigitalOcean VPC range must be /16 to /28, not /{}",
                cidr.prefix
            ),
            "pick a prefix length from 16 (65,536 addresses) to 28 (16), e.g. `10.10.0.0/20`",
        ));
    }
    if !cidr.is_private() {
        return Err(error(
            format!("{cidr} is not private address space"),
            "DigitalOcean VPCs use RFC 1918 ranges: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert!(parse_ipv4_cidr("10.0.0.0/16").is_ok());
        assert!(parse_ipv4_cidr("0.0.0.0/0").is_ok_and(|c| c.is_any()));
        assert!(parse_ipv4_cidr("10.0.0.0/33").is_err());
        assert!(parse_ipv4_cidr("10.0.0/16").is_err());
        assert!(parse_ipv4_cidr("10.0.0.1/16").is_err());
        assert!(parse_ipv4_cidr("010.0.0.0/8").is_err());
        assert!(parse_ipv6_cidr("::/0").is_ok());
        assert!(parse_ipv6_cidr("2001:db8::/129").is_err());
        let range = |text| parse_ipv4_cidr(text).map(|cidr| check_do_vpc_range(&cidr));
        assert_eq!(range("10.10.0.0/20"), Ok(Ok(())));
        assert!(matches!(range("10.0.0.0/8"), Ok(Err(_))));
        assert!(matches!(range("100.64.0.0/16"), Ok(Err(_))));
        assert_eq!(range("192.168.1.0/28"), Ok(Ok(())));
    }
}
