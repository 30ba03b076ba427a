"""Constants shared by the tests."""

BASE = "https://api.binance.com"
KEY = "test-api-key-0123456789"
SECRET = "test-secret-abcdefghijklmnopqrstuvwxyz"
