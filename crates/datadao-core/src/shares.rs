//! Shares that must sum to 1 (the agent types' shares of newcomers, The Pie's shares):
//! how the shares left alone make room when some are set. One rule for governance's
//! `set` proposals and for a settings layer that sets only part of a group: the room is
//! taken from (or given to) the others in proportion to their sizes, equally if they
//! are all 0, and the last of them takes what rounding leaves so the group sums to 1.

/// How far from 1 a group of shares may sum and still count as summing to 1.
pub const SUM_TOLERANCE: f64 = 1e-9;

/// `others` rescaled to share `room` (what the shares that were set leave, `1 - their
/// sum`) in proportion to their sizes, equally if they are all 0. None is negative: a
/// negative `room` gives zeros (the caller refuses such a group).
pub fn make_room(others: &[f64], room: f64) -> Vec<f64> {
    let room = room.max(0.0);
    let Some(last) = others.len().checked_sub(1) else {
        return Vec::new();
    };
    let old: f64 = others.iter().sum();
    let mut out = Vec::with_capacity(others.len());
    let mut given = 0.0;
    for (i, &v) in others.iter().enumerate() {
        let share = if i == last {
            (room - given).max(0.0)
        } else if old > 0.0 {
            v * (room / old)
        } else {
            room / others.len() as f64
        };
        given += share;
        out.push(share);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: the seed's agent shares when degens are set to 0.5.
    #[test]
    fn the_others_keep_their_proportions() {
        let others = [0.05, 0.05, 0.3, 0.2];
        let out = make_room(&others, 0.5);
        let expected = [
            0.05 * 0.5 / 0.6,
            0.05 * 0.5 / 0.6,
            0.3 * 0.5 / 0.6,
            0.2 * 0.5 / 0.6,
        ];
        for (o, e) in out.iter().zip(expected) {
            assert!((o - e).abs() < 1e-15, "{out:?}");
        }
        assert!((out.iter().sum::<f64>() - 0.5).abs() < 1e-15);
    }

    #[test]
    fn zeros_share_equally_and_nothing_goes_negative() {
        assert_eq!(make_room(&[0.0, 0.0], 0.5), [0.25, 0.25]);
        assert_eq!(make_room(&[0.3, 0.1], -0.2), [0.0, 0.0]);
        assert_eq!(make_room(&[0.4, 0.6], 0.0), [0.0, 0.0]);
        assert!(make_room(&[], 0.5).is_empty());
    }

    /// Two others rescaled as governance always did: the first by the ratio, the last
    /// taking the rest.
    #[test]
    fn two_others_are_the_governed_move() {
        let (a, b, value) = (0.4, 0.2, 0.55);
        let rest_new = 1.0 - value;
        let a2 = a * (rest_new / (a + b));
        assert_eq!(make_room(&[a, b], rest_new), [a2, (rest_new - a2).max(0.0)]);
    }
}
