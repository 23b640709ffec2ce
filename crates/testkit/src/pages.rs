//! Paging through a list RPC: every item from the first page on, following page tokens.

use std::future::Future;

/// Every item of a paginated list from its first page, and how many pages that took;
/// `fetch` reads the page of a token into its items and the next token.
pub async fn all_pages<T, Fut>(mut fetch: impl FnMut(String) -> Fut) -> (Vec<T>, usize)
where
    Fut: Future<Output = (Vec<T>, String)>,
{
    let (mut items, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let (page, next) = fetch(token).await;
        items.extend(page);
        pages += 1;
        if next.is_empty() {
            return (items, pages);
        }
        token = next;
    }
}

/// Every item of a list RPC, following page tokens, and the number of pages:
/// `pages!(client, list_meetings, move |page_token| request, meetings)`, where the closure
/// builds the request of a page token.
#[macro_export]
macro_rules! pages {
    ($client:expr, $method:ident, $request:expr, $items:ident) => {{
        let client = $client;
        let request = $request;
        $crate::pages::all_pages(move |token| {
            let mut client = client.clone();
            let request = request(token);
            async move {
                let page = client.$method(request).await.unwrap().into_inner();
                (page.$items, page.next_page_token)
            }
        })
    }};
}
