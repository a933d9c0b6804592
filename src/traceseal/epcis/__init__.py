"""GS1 EPCIS 2.0: capture, validation, event hash IDs, storage, query and trace."""
