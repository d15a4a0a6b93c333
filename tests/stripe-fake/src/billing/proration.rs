//! Proration: deterministic and time-proportional to the second (SEMANTICS §6).
//!
//! For an item change at time `t` inside the period `[start, end)`, with `f = (end − t) / (end −
//! start)`:
//!
//! - credit "Unused time on <old> after <date>" = −round(old unit amount × old quantity × f)
//! - debit "Remaining time on <new> after <date>" = +round(new unit amount × new quantity × f)
//!
//! Each line is rounded on its own, half away from zero, to the currency's minor unit (Stripe does
//! not document its rounding: UNCONFIRMED). Computed in 128-bit integers, so there is no
//! floating-point error. Both the subscription update and the invoice preview call [`prorations`].

use serde_json::Value;

use super::Item;
use crate::model::calendar;

/// One proration line, before it becomes an invoice item (update) or a preview line.
#[derive(Debug, Clone)]
pub struct Proration {
    pub item_id: String,
    pub price: Value,
    pub quantity: u64,
    /// Negative for credits.
    pub amount: i64,
    pub description: String,
    /// `(t, period end)`: Stripe's proration lines start at the proration time.
    pub period: (i64, i64),
    pub credit: bool,
}

/// `round(unit_amount × quantity × (end − t) / (end − start))`, half away from zero; `t` is
/// clamped into the period.
pub fn prorated(unit_amount: i64, quantity: u64, period: (i64, i64), t: i64) -> i64 {
    let (start, end) = period;
    let length = i128::from(end - start);
    if length <= 0 {
        return 0;
    }
    let remaining = i128::from((end - t).clamp(0, end - start));
    let numerator = i128::from(unit_amount) * i128::from(quantity) * remaining;
    let magnitude = (2 * numerator.abs() + length) / (2 * length);
    let rounded = if numerator < 0 { -magnitude } else { magnitude };
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

fn describe(kind: &str, quantity: u64, name: &str, t: i64) -> String {
    let times = if quantity > 1 {
        format!("{quantity} × ")
    } else {
        String::new()
    };
    format!("{kind} {times}{name} after {}", calendar::date_label(t))
}

/// The proration lines for moving a subscription's items from `before` to `after` at `t` within
/// `period`. Items are matched by id: a changed price or quantity gives a credit for the old terms
/// and a debit for the new ones, a removed item only a credit, an added item only a debit. With
/// `restart` (the billing cycle restarts at `t`, e.g. monthly → yearly) every old item is
/// credited and nothing is debited: the new period is invoiced in full. `name` gives the product
/// name of a price.
pub fn prorations(
    before: &[Item],
    after: &[Item],
    period: (i64, i64),
    t: i64,
    restart: bool,
    name: impl Fn(&Value) -> String,
) -> Vec<Proration> {
    let line = |item: &Item, credit: bool| {
        let amount = prorated(item.unit_amount(), item.quantity, period, t);
        let kind = if credit {
            "Unused time on"
        } else {
            "Remaining time on"
        };
        Proration {
            item_id: item.id.clone(),
            price: item.price.clone(),
            quantity: item.quantity,
            amount: if credit { -amount } else { amount },
            description: describe(kind, item.quantity, &name(&item.price), t),
            period: (t, period.1),
            credit,
        }
    };
    let mut lines = Vec::new();
    for old in before {
        match after.iter().find(|new| new.id == old.id) {
            Some(new) if !restart && new.same_terms(old) => {}
            Some(new) => {
                lines.push(line(old, true));
                if !restart {
                    lines.push(line(new, false));
                }
            }
            None => lines.push(line(old, true)),
        }
    }
    if !restart {
        for new in after
            .iter()
            .filter(|new| before.iter().all(|old| old.id != new.id))
        {
            lines.push(line(new, false));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: &str, price: &str, amount: i64, quantity: u64) -> Item {
        Item {
            id: id.into(),
            price: json!({"id": price, "unit_amount": amount}),
            quantity,
            metadata: json!({}),
            created: 0,
        }
    }

    #[test]
    fn halfway_upgrade_matches_stripes_example() {
        // $10 → $20 halfway: −$5 and +$10 (SEMANTICS §6).
        let lines = prorations(
            &[item("si_1", "p10", 1000, 1)],
            &[item("si_1", "p20", 2000, 1)],
            (0, 100),
            50,
            false,
            |p| p["id"].as_str().unwrap_or_default().to_owned(),
        );
        let amounts: Vec<i64> = lines.iter().map(|l| l.amount).collect();
        assert_eq!(amounts, [-500, 1000]);
        assert_eq!(lines[0].description, "Unused time on p10 after 01 Jan 1970");
        assert_eq!(lines[1].period, (50, 100));
    }

    #[test]
    fn rounding_is_half_away_from_zero_per_line() {
        // 1000 × 1/8 = 125; 1 × 1/2 = 0.5 → 1; 3 × 1/2 = 1.5 → 2.
        assert_eq!(prorated(1000, 1, (0, 8), 7), 125);
        assert_eq!(prorated(1, 1, (0, 2), 1), 1);
        assert_eq!(prorated(3, 1, (0, 2), 1), 2);
        assert_eq!(prorated(1000, 1, (0, 3), 1), 667);
        assert_eq!(prorated(1000, 1, (0, 3), 2), 333);
        // Clamped into the period.
        assert_eq!(prorated(1000, 2, (10, 20), 5), 2000);
        assert_eq!(prorated(1000, 2, (10, 20), 25), 0);
        let credit = prorations(&[item("si", "a", 1, 1)], &[], (0, 2), 1, false, |_| {
            "A".into()
        });
        assert_eq!(credit[0].amount, -1, "−0.5 rounds to −1");
    }

    #[test]
    fn quantity_changes_added_and_removed_items() {
        let name = |p: &Value| p["id"].as_str().unwrap_or_default().to_owned();
        let before = [item("si_a", "pa", 3000, 2), item("si_b", "pb", 1000, 1)];
        let after = [item("si_a", "pa", 3000, 3), item("si_c", "pc", 500, 1)];
        let lines = prorations(&before, &after, (0, 30), 20, false, name);
        let summary: Vec<(&str, i64)> = lines
            .iter()
            .map(|l| (l.item_id.as_str(), l.amount))
            .collect();
        assert_eq!(
            summary,
            [
                ("si_a", -2000),
                ("si_a", 3000),
                ("si_b", -333),
                ("si_c", 167)
            ]
        );
        assert!(lines[0].description.starts_with("Unused time on 2 × pa"));
        assert!(lines[1].description.starts_with("Remaining time on 3 × pa"));
        let unchanged = prorations(&before, &before, (0, 30), 20, false, name);
        assert!(unchanged.is_empty());
        let restart = prorations(&before, &after, (0, 30), 20, true, name);
        assert_eq!(restart.iter().map(|l| l.amount).sum::<i64>(), -2333);
    }
}
