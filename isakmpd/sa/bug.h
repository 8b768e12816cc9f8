// Broken invariants (style.md rule 9): a checked bug macro instead of
// exceptions. IKE_BUG_IF(cond, handle, what) is true when |cond| holds; it
// then logs "BUG file:line: cond (what)", counts it, and has the SA manager
// tear down the SA |handle| (ISAKMP or IPsec) cleanly on the next loop turn,
// so no table is left half-updated. Use it inside SaManager members:
//   IsakmpSa* p1 = FindSa(child.parent);
//   if (IKE_BUG_IF(!p1, child.handle, "IPsec SA without its ISAKMP SA")) return;
#pragma once

#define IKE_BUG_IF(cond, handle, what)                                                            \
  (__builtin_expect(!!(cond), 0) ? (this->Bug(__FILE__, __LINE__, #cond, (handle), (what)), true) \
                                 : false)
