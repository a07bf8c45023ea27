"""The server-rendered website: pages, forms, template tags and the site URLconf (interfaces over movies and
recommender services and selectors; nothing else imports from here)."""
