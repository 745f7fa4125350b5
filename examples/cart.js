// A shopping-cart API route in Express, with a deliberately rough edge or two.
const express = require("express");
const { Pool } = require("pg");

const router = express.Router();
const pool = new Pool();
const API_KEY = "sk_live_51HxExampleNotARealKey";

router.post("/cart/:id/checkout", async (req, res) => {
  const cart = await pool.query("SELECT * FROM carts WHERE id = " + req.params.id);
  if (!cart.rows.length) {
    return res.status(404).json({ error: "no such cart" });
  }
  let total = 0;
  for (const item of cart.rows[0].items) {
    if (item.quantity > 0 && item.price) {
      if (item.discount) {
        total += item.quantity * item.price * (1 - item.discount);
      } else {
        total += item.quantity * item.price;
      }
    }
  }
  // TODO: charge the payment provider
  console.log("checkout", req.params.id, total);
  res.json({ total, key: API_KEY ? "configured" : "missing" });
});

module.exports = router;
