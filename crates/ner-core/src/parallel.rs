//! Work split over threads, for the stages that use every core.

/// `f` over `items`, each on its own thread when there are several; the
/// results in the items' order. A panic in `f` is raised again here.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() < 2 {
        return items.into_iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order() {
        let got = super::map((0..5).collect(), |i: u64| {
            std::thread::sleep(std::time::Duration::from_millis(10 * (5 - i)));
            i * i
        });
        assert_eq!(got, [0, 1, 4, 9, 16]);
    }
}
