"""deminimis: exact customs duty, import VAT/GST, fees and de minimis reliefs."""
