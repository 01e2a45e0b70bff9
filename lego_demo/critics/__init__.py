"""Critics judge an edit (Think-while-Edit): scores, reasoning, and a refined instruction."""
